/*
Copyright 2026 The Plinth Authors.

Licensed under the Apache License, Version 2.0 (the "License");
you may not use this file except in compliance with the License.
You may obtain a copy of the License at

    http://www.apache.org/licenses/LICENSE-2.0

Unless required by applicable law or agreed to in writing, software
distributed under the License is distributed on an "AS IS" BASIS,
WITHOUT WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
See the License for the specific language governing permissions and
limitations under the License.
*/

// Command images builds Plinth's container images without a container engine
// or a registry: it writes plinth-controller and plinth-node as tarballs that
// `docker load`, `podman load` and `ctr images import` accept. On request
// (-images pause,busybox) it also builds the test images of real nodes and
// e2e tests under the upstream names that hack/versions.mk lists: a pause
// image (test/images/pause) and a busybox image (Debian's busybox-static).
//
// It builds the binaries itself (static, CGO_ENABLED=0, -trimpath, the version
// stamped into internal/version.Version) so that `make images` and the tests build them the
// same way; commands of other modules that go.mod requires (the loopback CNI
// plugin) are built at that version and stamped with it. The controller image
// holds only its binary and a passwd file and runs as 65532:65532, like
// distroless/static:nonroot. The node image runs as root (it mounts) and adds
// a layer made from Debian packages: the tools listed in packages.txt and the
// closure of their dependencies, downloaded with `apt-get download` into a
// cache and unpacked with `dpkg-deb --fsys-tarfile`, without documentation,
// with /bin, /sbin and /lib folded into /usr as on a merged-/usr Debian, and
// with each package's control file in /var/lib/dpkg/status.d so that image
// scanners see the package versions.
//
// Every file is owned by its Debian owner or root and stamped with one fixed
// time ($SOURCE_DATE_EPOCH, or the Unix epoch), and layers are compressed once
// with a fixed gzip header, so two builds of the same inputs give the same
// digests and the same tarballs.
//
// The module is separate from the main module (like hack/k8s) so that
// go-containerregistry stays out of the main go.mod. The Containerfile at the
// repository root builds the same Plinth images with a container engine.
package main
