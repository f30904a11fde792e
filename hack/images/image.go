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
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// buildImage assembles the image of s from the shared layers it names and a
// layer of its binaries (taken from bins), and writes it to o.out/<name>.tar.
func buildImage(o *options, s spec, work, bins string, shared map[string]mutate.Addendum) (string, error) {
	var adds []mutate.Addendum
	for _, kind := range s.layers {
		adds = append(adds, shared[kind])
	}
	if len(s.binaries) > 0 {
		binLayer, err := writeLayer(filepath.Join(work, s.name+".tar.gz"), o.created, func(w *layerWriter) error {
			if err := addBinaries(w, bins, s); err != nil {
				return err
			}
			if s.extra != nil {
				return s.extra(w)
			}
			return nil
		})
		if err != nil {
			return "", err
		}
		adds = append(adds, addendum(binLayer, o, "binaries: "+strings.Join(s.binaries, " ")))
	}
	refs, err := imageRefs(o, s)
	if err != nil {
		return "", err
	}
	img, err := assemble(o, s, refs[0], adds)
	if err != nil {
		return "", err
	}
	return writeImage(o, s, refs, img)
}

func addendum(l v1.Layer, o *options, what string) mutate.Addendum {
	return mutate.Addendum{Layer: l, MediaType: types.OCILayer, History: v1.History{
		Created: v1.Time{Time: o.created}, CreatedBy: "hack/images: " + what, Comment: "plinth " + o.version,
	}}
}

// addBinaries copies the binaries of s from bins into its binDir.
func addBinaries(w *layerWriter, bins string, s spec) error {
	for _, b := range s.binaries {
		n := binaryName(b)
		if err := w.copyFile(path.Join(s.binDir, n), filepath.Join(bins, n), 0o755); err != nil {
			return err
		}
	}
	return nil
}

// assemble stacks the layers on an empty OCI image and sets its config.
func assemble(o *options, s spec, ref name.Tag, adds []mutate.Addendum) (v1.Image, error) {
	img := mutate.MediaType(empty.Image, types.OCIManifestSchema1)
	img = mutate.ConfigMediaType(img, types.OCIConfigJSON)
	img, err := mutate.Append(img, adds...)
	if err != nil {
		return nil, fmt.Errorf("failed to append the layers: %w", err)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, fmt.Errorf("failed to read the image config: %w", err)
	}
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture = "linux", o.arch
	cf.Created = v1.Time{Time: o.created}
	cf.Config = runConfig(o, s, ref)
	img, err = mutate.ConfigFile(img, cf)
	if err != nil {
		return nil, fmt.Errorf("failed to set the image config: %w", err)
	}
	return img, nil
}

// runConfig is how a runtime starts the image. The version label is the
// Plinth version, or a test image's tag.
func runConfig(o *options, s spec, ref name.Tag) v1.Config {
	version := o.version
	if s.isTest() {
		version = ref.TagStr()
	}
	c := v1.Config{
		User:       fmt.Sprintf("%d:%d", s.uid, s.uid),
		Cmd:        s.cmd,
		Env:        []string{"PATH=" + imagePath},
		WorkingDir: "/",
		Labels: map[string]string{
			"org.opencontainers.image.source":      o.source,
			"org.opencontainers.image.version":     version,
			"org.opencontainers.image.title":       s.name,
			"org.opencontainers.image.description": s.description,
		},
	}
	if s.entrypoint != "" {
		c.Entrypoint = []string{"/" + path.Join(s.binDir, s.entrypoint)}
	}
	return c
}

// imageRefs are the names the tarball gives the image: REGISTRY/NAME:TAG, or
// for a test image the names its pin lists.
func imageRefs(o *options, s spec) ([]name.Tag, error) {
	names := []string{o.registry + "/" + s.name + ":" + o.tag}
	if s.isTest() {
		list, err := pin(o.root, s.namesPin)
		if err != nil {
			return nil, err
		}
		names = strings.Fields(list)
	}
	if len(names) == 0 {
		return nil, fmt.Errorf("%s names no image", s.namesPin)
	}
	refs := make([]name.Tag, len(names))
	for i, n := range names {
		ref, err := name.NewTag(n)
		if err != nil {
			return nil, fmt.Errorf("failed to form the image name %q: %w", n, err)
		}
		refs[i] = ref
	}
	return refs, nil
}

// writeImage writes img as a docker-archive tarball named refs, which docker
// load, podman load and ctr images import all read, replacing the file
// atomically.
func writeImage(o *options, s spec, refs []name.Tag, img v1.Image) (string, error) {
	out := filepath.Join(o.out, s.name+".tar")
	tmp := out + ".tmp"
	if err := writeArchiveFile(tmp, img, refs); err != nil {
		_ = os.Remove(tmp)
		return "", err
	}
	if err := os.Rename(tmp, out); err != nil {
		return "", fmt.Errorf("failed to move the image into place: %w", err)
	}
	return out, nil
}
