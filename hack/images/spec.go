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

package main

import (
	"fmt"
	"path"
	"slices"
	"strings"
)

// binDir is where the images keep Plinth's binaries. plinth-node installs
// plinth-cni (and loopback) from here into the host's CNI directory
// (--cni-plugin-binary).
const binDir = "usr/local/bin"

// imagePath is the PATH of every image.
const imagePath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// nonRoot is the user of the controller image, distroless's "nonroot".
const nonRoot = 65532

// pauseUser is the user of the pause image, as in Kubernetes' own.
const pauseUser = 65535

// loopbackPkg is the CNI reference plugin that containerd runs for every pod
// sandbox, at the version the main module's go.mod requires.
const loopbackPkg = "github.com/containernetworking/plugins/plugins/main/loopback"

// The shared layers that specs stack under their binaries (see layerKinds).
const (
	baseLayer          = "base"
	debianLayer        = "debian"
	busyboxLayer       = "busybox"
	agnhostDebianLayer = "agnhost-debian"
)

// e2eModule is the wrapper module (hack/build-e2e.sh) whose go.mod requires
// k8s.io/kubernetes at the pinned version: the upstream test binaries that
// go into images are built in it.
const e2eModule = "hack/e2e"

// spec is one image: its names, layers, binaries and how it starts.
type spec struct {
	name        string // the -images name and the tarball's: <name>.tar
	description string
	// namesPin, when set, is the hack/versions.mk variable that holds the
	// image's names (space-separated) and marks a test image; the others
	// are named REGISTRY/<name>:TAG.
	namesPin string
	layers   []string // shared layers, bottom first
	binaries []string // see pkgPath; each goes into binDir
	// module, when set, is the directory (relative to the root) of the
	// module that builds binaries, instead of the main module.
	module string
	binDir string // where the binaries go, relative to /
	// extra, when set, writes the image's own files into its binaries' layer.
	extra      func(w *layerWriter) error
	entrypoint string // one of binaries, or empty
	cmd        []string
	uid        int
}

// specs are the images this program builds.
var specs = []spec{
	{
		name:        "plinth-controller",
		description: "Plinth's cluster-wide controller manager.",
		layers:      []string{baseLayer},
		binaries:    []string{"plinth-controller"},
		binDir:      binDir,
		entrypoint:  "plinth-controller",
		uid:         nonRoot,
	},
	{
		name:        "plinth-node",
		description: "Plinth's node agent: CSI driver, node controllers and pod network agent.",
		layers:      []string{baseLayer, debianLayer},
		binaries:    []string{"plinth-node", "plinth-cni", loopbackPkg},
		binDir:      binDir,
		entrypoint:  "plinth-node",
		uid:         0, // it formats, mounts and attaches loop devices
	},
	{
		name:        "pause",
		description: "The pod sandbox process of real test nodes: waits for SIGTERM (test/images/pause).",
		namesPin:    "PAUSE_IMAGES",
		binaries:    []string{"./test/images/pause"},
		binDir:      "",
		entrypoint:  "pause",
		uid:         pauseUser,
	},
	{
		name:        "busybox",
		description: "Debian's busybox-static with a link for each applet, for test pods.",
		namesPin:    "BUSYBOX_IMAGES",
		layers:      []string{baseLayer, busyboxLayer},
		cmd:         []string{"sh"},
		uid:         0,
	},
	{
		name:        "agnhost",
		description: "The upstream e2e suites' test server (k8s.io/kubernetes/test/images/agnhost) on Debian, with the tools its pods run.",
		namesPin:    "AGNHOST_IMAGES",
		layers:      []string{baseLayer, agnhostDebianLayer},
		binaries:    []string{agnhostPkg},
		module:      e2eModule,
		binDir:      "",
		extra:       addAgnhostFiles,
		entrypoint:  "agnhost",
		cmd:         []string{"pause"},
		uid:         0,
	},
	{
		name:        "e2e-shell",
		description: "The busybox image under the names of upstream e2e images that the chosen suites only run a shell in.",
		namesPin:    "E2E_SHELL_IMAGES",
		layers:      []string{baseLayer, busyboxLayer},
		cmd:         []string{"sh"},
		uid:         0,
	},
}

// isTest reports whether s is a test image, which only -images selects.
func (s spec) isTest() bool { return s.namesPin != "" }

// imageNames lists the images, test images only when tests is true.
func imageNames(tests bool) []string {
	var names []string
	for _, s := range specs {
		if tests || !s.isTest() {
			names = append(names, s.name)
		}
	}
	return names
}

// selectSpecs returns the specs named, in the order of specs.
func selectSpecs(names []string) ([]spec, error) {
	for _, n := range names {
		if !slices.Contains(imageNames(true), n) {
			return nil, fmt.Errorf("unknown image %q (known: %v)", n, imageNames(true))
		}
	}
	var out []spec
	for _, s := range specs {
		if slices.Contains(names, s.name) {
			out = append(out, s)
		}
	}
	return out, nil
}

// pkgPath is the package that builds binary b: a plain name is cmd/<b> of
// the main module, anything with a slash is a package path of the main
// module ("./test/...") or of a module that its go.mod requires.
func pkgPath(b string) string {
	if strings.Contains(b, "/") {
		return b
	}
	return "./cmd/" + b
}

// binaryName is the file name that `go build -o DIR/` gives binary b.
func binaryName(b string) string { return path.Base(b) }

// binaries lists the binaries that the specs build in module ("" for the
// main module), without duplicates.
func binaries(specs []spec, module string) []string {
	var out []string
	for _, s := range specs {
		if s.module != module {
			continue
		}
		for _, b := range s.binaries {
			if !slices.Contains(out, b) {
				out = append(out, b)
			}
		}
	}
	return out
}

// modules lists the modules that build the specs' binaries, the main
// module ("") first.
func modules(specs []spec) []string {
	out := []string{""}
	for _, s := range specs {
		if !slices.Contains(out, s.module) {
			out = append(out, s.module)
		}
	}
	return out
}

// usesLayer reports whether any of specs stacks the shared layer kind.
func usesLayer(specs []spec, kind string) bool {
	return slices.ContainsFunc(specs, func(s spec) bool { return slices.Contains(s.layers, kind) })
}
