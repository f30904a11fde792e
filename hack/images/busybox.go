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
	"fmt"
	"io"
	"log"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"slices"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// busyboxPackage is the Debian package of the busybox image: one static
// binary, without the applet links that `busybox --install` would make.
const busyboxPackage = "busybox-static"

// busyboxDir is where the busybox image keeps busybox and its applets: all
// in /bin, as in the busybox images that Kubernetes' e2e tests were written
// against.
const busyboxDir = "bin"

// writeBusyboxLayer downloads busybox-static and writes a layer with
// /bin/busybox, a link /bin/<applet> -> busybox for every applet that this
// busybox lists, and the package's control file.
func writeBusyboxLayer(ctx context.Context, o *options, work string) (v1.Layer, error) {
	if err := checkDebArch(ctx, o.arch); err != nil {
		return nil, err
	}
	debs, err := download(ctx, o.cache, []string{busyboxPackage})
	if err != nil {
		return nil, err
	}
	bin := filepath.Join(work, "busybox")
	if err := extractBusybox(ctx, debs[0], bin); err != nil {
		return nil, err
	}
	applets, err := busyboxApplets(ctx, bin)
	if err != nil {
		return nil, err
	}
	log.Printf("linking %d busybox applets", len(applets))
	return writeLayer(filepath.Join(work, "busybox.tar.gz"), o.created, func(w *layerWriter) error {
		if err := addControl(ctx, w, debs[0]); err != nil {
			return err
		}
		return addBusybox(w, bin, applets)
	})
}

// extractBusybox copies the busybox binary out of deb into dst.
func extractBusybox(ctx context.Context, deb, dst string) error {
	found := false
	err := unpack(ctx, deb, func(h *tar.Header, r io.Reader) error {
		name := cleanName(h.Name)
		if found || h.Typeflag != tar.TypeReg || path.Base(name) != "busybox" || !strings.Contains(name, "bin/") {
			return nil
		}
		found = true
		return writeExecutable(dst, r)
	})
	if err != nil {
		return err
	}
	if !found {
		return fmt.Errorf("%s holds no busybox binary", filepath.Base(deb))
	}
	return nil
}

func writeExecutable(dst string, r io.Reader) error {
	//nolint:gosec // G302: the host runs it (busybox --list), so it is executable.
	f, err := os.OpenFile(dst, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o700)
	if err != nil {
		return fmt.Errorf("failed to create %s: %w", dst, err)
	}
	if _, err := io.Copy(f, r); err != nil {
		_ = f.Close()
		return fmt.Errorf("failed to write %s: %w", dst, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("failed to write %s: %w", dst, err)
	}
	return nil
}

// busyboxApplets asks the binary which applets it has, sorted. It runs on
// this host, which checkDebArch made sure has the image's architecture.
func busyboxApplets(ctx context.Context, bin string) ([]string, error) {
	out, err := exec.CommandContext(ctx, bin, "--list").Output()
	if err != nil {
		return nil, fmt.Errorf("failed to list the busybox applets: %w", commandError(err))
	}
	applets := strings.Fields(string(out))
	if len(applets) == 0 {
		return nil, fmt.Errorf("busybox --list printed no applet")
	}
	slices.Sort(applets)
	return applets, nil
}

// addBusybox writes the binary and a relative link to it for each applet.
func addBusybox(w *layerWriter, bin string, applets []string) error {
	if err := w.copyFile(path.Join(busyboxDir, "busybox"), bin, 0o755); err != nil {
		return err
	}
	for _, a := range applets {
		if a == "busybox" || strings.Contains(a, "/") {
			continue
		}
		if err := w.symlink(path.Join(busyboxDir, a), "busybox"); err != nil {
			return err
		}
	}
	return nil
}
