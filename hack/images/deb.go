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
	"context"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"path"
	"path/filepath"
	"slices"
	"strings"
)

// skipped are the trees of the packages that nothing runs: documentation,
// manuals, translations and bug-report hooks.
var skipped = []string{"usr/share/doc", "usr/share/man", "usr/share/info",
	"usr/share/lintian", "usr/share/locale", "usr/share/bug"}

// merged are the top-level directories that merged-/usr Debian keeps in /usr
// behind a symbolic link.
var merged = []string{"bin", "sbin", "lib", "lib32", "lib64", "libx32"}

// statusDir is where distroless-style images describe their packages, one
// control file each, for image scanners.
const statusDir = "var/lib/dpkg/status.d"

// addDebs unpacks the .deb files into w, then adds the merged-/usr links for
// the directories the packages used.
func addDebs(ctx context.Context, w *layerWriter, debs []string) error {
	used := map[string]bool{}
	for _, d := range debs {
		if err := addDeb(ctx, w, d, used); err != nil {
			return err
		}
	}
	for _, dir := range merged {
		if used[dir] {
			if err := w.symlink(dir, "usr/"+dir); err != nil {
				return err
			}
		}
	}
	return nil
}

// addDeb writes the control file and the data of one package.
func addDeb(ctx context.Context, w *layerWriter, deb string, used map[string]bool) error {
	if err := addControl(ctx, w, deb); err != nil {
		return err
	}
	return unpack(ctx, deb, func(h *tar.Header, r io.Reader) error {
		return addDebEntry(w, h, r, used)
	})
}

// addControl writes the control file of deb into statusDir.
func addControl(ctx context.Context, w *layerWriter, deb string) error {
	control, err := exec.CommandContext(ctx, "dpkg-deb", "--field", deb).Output()
	if err != nil {
		return fmt.Errorf("failed to read the control file of %s: %w", deb, commandError(err))
	}
	pkg, _, _ := strings.Cut(filepath.Base(deb), "_")
	return w.file(path.Join(statusDir, pkg), 0o644, string(control))
}

// unpack streams the data tar of deb through fn.
func unpack(ctx context.Context, deb string, fn func(*tar.Header, io.Reader) error) error {
	cmd := exec.CommandContext(ctx, "dpkg-deb", "--fsys-tarfile", deb)
	out, err := cmd.StdoutPipe()
	if err != nil {
		return fmt.Errorf("failed to start dpkg-deb: %w", err)
	}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("failed to start dpkg-deb on %s: %w", deb, err)
	}
	readErr := readTar(out, fn)
	_, _ = io.Copy(io.Discard, out) // let dpkg-deb finish after an error
	if err := errors.Join(readErr, cmd.Wait()); err != nil {
		return fmt.Errorf("failed to unpack %s: %w", filepath.Base(deb), err)
	}
	return nil
}

func readTar(r io.Reader, fn func(*tar.Header, io.Reader) error) error {
	tr := tar.NewReader(r)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return fmt.Errorf("failed to read tar entry: %w", err)
		}
		if err := fn(h, tr); err != nil {
			return err
		}
	}
}

// addDebEntry writes one entry of a package at its merged-/usr path, unless
// it is documentation or a hard link to skipped content.
func addDebEntry(w *layerWriter, h *tar.Header, r io.Reader, used map[string]bool) error {
	name, top := usrMerge(cleanName(h.Name))
	if name == "" || isSkipped(name) {
		return nil
	}
	if top != "" {
		used[top] = true
	}
	nh := *h
	nh.Name = name
	if h.Typeflag == tar.TypeLink {
		nh.Linkname, _ = usrMerge(cleanName(h.Linkname))
		if !w.seen[nh.Linkname] {
			return nil
		}
	}
	return w.add(&nh, r)
}

// cleanName turns "./usr/bin/" into "usr/bin"; the root becomes "".
func cleanName(name string) string {
	name = path.Clean("/" + name)
	return strings.TrimPrefix(name, "/")
}

// usrMerge moves a path under a merged directory into /usr; top is that
// directory, or "" when the path stays.
func usrMerge(name string) (moved, top string) {
	first, _, _ := strings.Cut(name, "/")
	if slices.Contains(merged, first) {
		return "usr/" + name, first
	}
	return name, ""
}

func isSkipped(name string) bool {
	return slices.ContainsFunc(skipped, func(s string) bool {
		return name == s || strings.HasPrefix(name, s+"/")
	})
}
