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
	"archive/tar"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"slices"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// writeArchiveFile writes img into path as a docker-archive tarball (the
// format of `docker save`) that names it refs, in that order. It lays the
// tarball out as go-containerregistry's tarball.Write does (the config as
// sha256:<hex>, layers as <hex>.tar.gz, then manifest.json), but keeps the
// order of the names: that package writes the names of one image in map
// order, so an image with two names would give a different file each time.
func writeArchiveFile(path string, img v1.Image, refs []name.Tag) error {
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("failed to create %s: %w", path, err)
	}
	defer func() { _ = f.Close() }()
	if err := writeArchive(f, img, refs); err != nil {
		return fmt.Errorf("failed to write %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("failed to write %s: %w", path, err)
	}
	return nil
}

func writeArchive(w io.Writer, img v1.Image, refs []name.Tag) error {
	tw := tar.NewWriter(w)
	desc, err := writeConfig(tw, img)
	if err != nil {
		return err
	}
	for _, ref := range refs {
		desc.RepoTags = append(desc.RepoTags, ref.String())
	}
	if desc.Layers, err = writeLayers(tw, img); err != nil {
		return err
	}
	m, err := json.Marshal(tarball.Manifest{desc})
	if err != nil {
		return fmt.Errorf("failed to encode manifest.json: %w", err)
	}
	if err := archiveEntry(tw, "manifest.json", bytes.NewReader(m), int64(len(m))); err != nil {
		return err
	}
	if err := tw.Close(); err != nil {
		return fmt.Errorf("failed to finish the archive: %w", err)
	}
	return nil
}

// writeConfig writes the config blob and returns the manifest entry that
// names it.
func writeConfig(tw *tar.Writer, img v1.Image) (tarball.Descriptor, error) {
	cfgName, err := img.ConfigName()
	if err != nil {
		return tarball.Descriptor{}, fmt.Errorf("failed to hash the image config: %w", err)
	}
	raw, err := img.RawConfigFile()
	if err != nil {
		return tarball.Descriptor{}, fmt.Errorf("failed to read the image config: %w", err)
	}
	desc := tarball.Descriptor{Config: cfgName.String()}
	return desc, archiveEntry(tw, desc.Config, bytes.NewReader(raw), int64(len(raw)))
}

// writeLayers writes each compressed layer once and returns their file
// names, bottom first.
func writeLayers(tw *tar.Writer, img v1.Image) ([]string, error) {
	layers, err := img.Layers()
	if err != nil {
		return nil, fmt.Errorf("failed to list the layers: %w", err)
	}
	var files []string
	for _, l := range layers {
		file, err := writeLayerBlob(tw, l, files)
		if err != nil {
			return nil, err
		}
		files = append(files, file)
	}
	return files, nil
}

// writeLayerBlob writes l as <hex>.tar.gz unless written names it already.
func writeLayerBlob(tw *tar.Writer, l v1.Layer, written []string) (string, error) {
	d, err := l.Digest()
	if err != nil {
		return "", fmt.Errorf("failed to hash a layer: %w", err)
	}
	file := d.Hex + ".tar.gz"
	if slices.Contains(written, file) {
		return file, nil
	}
	size, err := l.Size()
	if err != nil {
		return "", fmt.Errorf("failed to size layer %s: %w", d, err)
	}
	rc, err := l.Compressed()
	if err != nil {
		return "", fmt.Errorf("failed to open layer %s: %w", d, err)
	}
	defer func() { _ = rc.Close() }()
	return file, archiveEntry(tw, file, rc, size)
}

// archiveEntry writes one regular file, with no time or owner.
func archiveEntry(tw *tar.Writer, name string, r io.Reader, size int64) error {
	if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: name, Mode: 0o644, Size: size}); err != nil {
		return fmt.Errorf("failed to write %s into the archive: %w", name, err)
	}
	if _, err := io.CopyN(tw, r, size); err != nil {
		return fmt.Errorf("failed to copy %s into the archive: %w", name, err)
	}
	return nil
}
