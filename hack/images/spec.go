package main

import (
	"fmt"
	"slices"
)

// binDir is where the images keep Plinth's binaries. plinth-node installs
// plinth-cni from here into the host's CNI directory (--cni-plugin-binary).
const binDir = "usr/local/bin"

// imagePath is the PATH of both images.
const imagePath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// nonRoot is the user of the controller image, distroless's "nonroot".
const nonRoot = 65532

// spec is one image: its name under the registry, its binaries and user.
type spec struct {
	name        string
	description string
	binaries    []string // packages under cmd/, installed into binDir
	entrypoint  string   // one of binaries
	uid         int
	debian      bool // add the Debian packages of packages.txt
}

// specs are the images this program builds.
var specs = []spec{
	{
		name:        "plinth-controller",
		description: "Plinth's cluster-wide controller manager.",
		binaries:    []string{"plinth-controller"},
		entrypoint:  "plinth-controller",
		uid:         nonRoot,
	},
	{
		name:        "plinth-node",
		description: "Plinth's node agent: CSI driver, node controllers and pod network agent.",
		binaries:    []string{"plinth-node", "plinth-cni"},
		entrypoint:  "plinth-node",
		uid:         0, // it formats, mounts and attaches loop devices
		debian:      true,
	},
}

func imageNames() []string {
	names := make([]string, len(specs))
	for i, s := range specs {
		names[i] = s.name
	}
	return names
}

// selectSpecs returns the specs named, in the order of specs.
func selectSpecs(names []string) ([]spec, error) {
	for _, n := range names {
		if !slices.Contains(imageNames(), n) {
			return nil, fmt.Errorf("unknown image %q (known: %v)", n, imageNames())
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

// binaries lists the cmd/ packages that the specs need, without duplicates.
func binaries(specs []spec) []string {
	var out []string
	for _, s := range specs {
		for _, b := range s.binaries {
			if !slices.Contains(out, b) {
				out = append(out, b)
			}
		}
	}
	return out
}

// usesDebian reports whether any of specs needs the Debian packages.
func usesDebian(specs []spec) bool {
	return slices.ContainsFunc(specs, func(s spec) bool { return s.debian })
}
