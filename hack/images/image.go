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
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// layers are the layers shared between the images.
type layers struct {
	base   v1.Layer
	debian v1.Layer // nil unless an image needs it
}

// buildImage assembles the image of s from the shared layers and a layer of
// its binaries (taken from bins), and writes it to o.out/<name>.tar.
func buildImage(o *options, s spec, work, bins string, shared layers) (string, error) {
	binLayer, err := writeLayer(filepath.Join(work, s.name+".tar.gz"), o.created, func(w *layerWriter) error {
		return addBinaries(w, bins, s.binaries)
	})
	if err != nil {
		return "", err
	}
	adds := []mutate.Addendum{addendum(shared.base, o, "base files: /etc/passwd, /etc/group, /tmp")}
	if s.debian {
		adds = append(adds, addendum(shared.debian, o, "Debian packages of hack/images/packages.txt"))
	}
	adds = append(adds, addendum(binLayer, o, "binaries: "+strings.Join(s.binaries, " ")))
	img, err := assemble(o, s, adds)
	if err != nil {
		return "", err
	}
	return writeImage(o, s, img)
}

func addendum(l v1.Layer, o *options, what string) mutate.Addendum {
	return mutate.Addendum{Layer: l, MediaType: types.OCILayer, History: v1.History{
		Created: v1.Time{Time: o.created}, CreatedBy: "hack/images: " + what, Comment: "plinth " + o.version,
	}}
}

// addBinaries copies the named binaries from bins into binDir.
func addBinaries(w *layerWriter, bins string, names []string) error {
	for _, n := range names {
		if err := w.copyFile(path.Join(binDir, n), filepath.Join(bins, n), 0o755); err != nil {
			return err
		}
	}
	return nil
}

// assemble stacks the layers on an empty OCI image and sets its config.
func assemble(o *options, s spec, adds []mutate.Addendum) (v1.Image, error) {
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
	cf.Config = runConfig(o, s)
	img, err = mutate.ConfigFile(img, cf)
	if err != nil {
		return nil, fmt.Errorf("failed to set the image config: %w", err)
	}
	return img, nil
}

// runConfig is how a runtime starts the image.
func runConfig(o *options, s spec) v1.Config {
	return v1.Config{
		User:       fmt.Sprintf("%d:%d", s.uid, s.uid),
		Entrypoint: []string{"/" + path.Join(binDir, s.entrypoint)},
		Env:        []string{"PATH=" + imagePath},
		WorkingDir: "/",
		Labels: map[string]string{
			"org.opencontainers.image.source":      o.source,
			"org.opencontainers.image.version":     o.version,
			"org.opencontainers.image.title":       s.name,
			"org.opencontainers.image.description": s.description,
		},
	}
}

// imageRef is the name the tarball gives the image: REGISTRY/NAME:TAG.
func imageRef(o *options, s spec) (name.Tag, error) {
	ref, err := name.NewTag(o.registry + "/" + s.name + ":" + o.tag)
	if err != nil {
		return name.Tag{}, fmt.Errorf("failed to form the image name: %w", err)
	}
	return ref, nil
}

// writeImage writes img as a docker-archive tarball, which docker load,
// podman load and ctr images import all read, replacing the file atomically.
func writeImage(o *options, s spec, img v1.Image) (string, error) {
	ref, err := imageRef(o, s)
	if err != nil {
		return "", err
	}
	out := filepath.Join(o.out, s.name+".tar")
	tmp := out + ".tmp"
	if err := tarball.WriteToFile(tmp, ref, img); err != nil {
		_ = os.Remove(tmp)
		return "", fmt.Errorf("failed to write %s: %w", tmp, err)
	}
	if err := os.Rename(tmp, out); err != nil {
		return "", fmt.Errorf("failed to move the image into place: %w", err)
	}
	return out, nil
}
