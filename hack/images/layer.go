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
	"compress/gzip"
	"fmt"
	"io"
	"os"
	"path"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// layerWriter writes the tar stream of one layer. Every entry gets the same
// time and no user or group names; an entry whose path was already written is
// dropped, and missing parent directories are added, so the stream depends only
// on its inputs.
type layerWriter struct {
	tw    *tar.Writer
	mtime time.Time
	seen  map[string]bool
}

// writeLayer runs fill on a layerWriter that writes a gzip-compressed layer
// into path, and returns that file as an OCI layer. Compressing here, once,
// with Go's fixed gzip header keeps the digest stable and saves
// go-containerregistry from compressing it again.
func writeLayer(path string, mtime time.Time, fill func(*layerWriter) error) (v1.Layer, error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, fmt.Errorf("failed to create layer file: %w", err)
	}
	defer func() { _ = f.Close() }()
	gz := gzip.NewWriter(f)
	w := &layerWriter{tw: tar.NewWriter(gz), mtime: mtime, seen: map[string]bool{}}
	if err := fill(w); err != nil {
		return nil, err
	}
	if err := w.tw.Close(); err != nil {
		return nil, fmt.Errorf("failed to finish the layer's tar stream: %w", err)
	}
	if err := gz.Close(); err != nil {
		return nil, fmt.Errorf("failed to finish the layer's compression: %w", err)
	}
	if err := f.Close(); err != nil {
		return nil, fmt.Errorf("failed to write layer file: %w", err)
	}
	layer, err := tarball.LayerFromFile(path, tarball.WithMediaType(types.OCILayer))
	if err != nil {
		return nil, fmt.Errorf("failed to read back layer %s: %w", path, err)
	}
	return layer, nil
}

// add writes h (its name relative to the root, without "./") and, for a
// regular file, its content from r.
func (w *layerWriter) add(h *tar.Header, r io.Reader) error {
	if w.seen[h.Name] {
		return nil
	}
	if err := w.parents(h.Name); err != nil {
		return err
	}
	w.seen[h.Name] = true
	nh := &tar.Header{Typeflag: h.Typeflag, Name: h.Name, Linkname: h.Linkname, Size: h.Size,
		Mode: h.Mode, Uid: h.Uid, Gid: h.Gid, ModTime: w.mtime, Format: tar.FormatPAX}
	if h.Typeflag != tar.TypeReg {
		nh.Size = 0
	}
	if err := w.tw.WriteHeader(nh); err != nil {
		return fmt.Errorf("failed to write %s into the layer: %w", h.Name, err)
	}
	if nh.Size == 0 {
		return nil
	}
	if _, err := io.CopyN(w.tw, r, nh.Size); err != nil {
		return fmt.Errorf("failed to copy %s into the layer: %w", h.Name, err)
	}
	return nil
}

// parents adds the directories above name that the layer lacks.
func (w *layerWriter) parents(name string) error {
	dir := path.Dir(name)
	if dir == "." || w.seen[dir] {
		return nil
	}
	return w.dir(dir, 0o755, 0)
}

// dir adds a directory owned by uid:uid.
func (w *layerWriter) dir(name string, mode int64, uid int) error {
	return w.add(&tar.Header{Typeflag: tar.TypeDir, Name: name, Mode: mode, Uid: uid, Gid: uid}, nil)
}

// file adds a root-owned regular file holding data.
func (w *layerWriter) file(name string, mode int64, data string) error {
	h := &tar.Header{Typeflag: tar.TypeReg, Name: name, Mode: mode, Size: int64(len(data))}
	return w.add(h, strings.NewReader(data))
}

// symlink adds a symbolic link name -> target.
func (w *layerWriter) symlink(name, target string) error {
	return w.add(&tar.Header{Typeflag: tar.TypeSymlink, Name: name, Linkname: target, Mode: 0o777}, nil)
}

// copyFile adds the host file src as a root-owned name.
func (w *layerWriter) copyFile(name, src string, mode int64) error {
	f, err := os.Open(src)
	if err != nil {
		return fmt.Errorf("failed to open %s: %w", src, err)
	}
	defer func() { _ = f.Close() }()
	fi, err := f.Stat()
	if err != nil {
		return fmt.Errorf("failed to stat %s: %w", src, err)
	}
	return w.add(&tar.Header{Typeflag: tar.TypeReg, Name: name, Mode: mode, Size: fi.Size()}, f)
}
