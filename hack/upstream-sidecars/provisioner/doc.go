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

// Package provisioner is a wrapper module that builds csi-provisioner of
// github.com/kubernetes-csi/external-provisioner from the Go module proxy,
// for the side-by-side storage benchmarks of test/e2e. It is kept out of the
// main module and carries the replace directives of external-provisioner's
// own go.mod (hack/build-upstream-sidecars.sh copies them), so the binary is
// built against the library versions its release was.
package provisioner
