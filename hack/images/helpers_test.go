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
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// need skips the test for a missing prerequisite, or fails it under CI=true,
// where every prerequisite must be present.
func need(t *testing.T, ok bool, reason string) {
	t.Helper()
	if ok {
		return
	}
	if os.Getenv("CI") == "true" {
		t.Fatal(reason)
	}
	t.Skip(reason)
}

func needRoot(t *testing.T) {
	t.Helper()
	need(t, os.Geteuid() == 0, "chroot into the image needs root")
}

func needTools(t *testing.T, tools ...string) {
	t.Helper()
	for _, tool := range tools {
		_, err := exec.LookPath(tool)
		need(t, err == nil, "building the node image needs "+tool+" (a Debian host)")
	}
}

// loadImage reads back a tarball that buildAll wrote.
func loadImage(t *testing.T, path, ref string) v1.Image {
	t.Helper()
	tag, err := name.NewTag(ref)
	if err != nil {
		t.Fatal(err)
	}
	img, err := tarball.ImageFromPath(path, &tag)
	if err != nil {
		t.Fatalf("failed to load %s as %s: %v", path, ref, err)
	}
	return img
}

// entries lists the flattened filesystem of img by path.
func entries(t *testing.T, img v1.Image) map[string]*tar.Header {
	t.Helper()
	out := map[string]*tar.Header{}
	err := walkFS(img, func(h *tar.Header, _ io.Reader) error {
		out[cleanName(h.Name)] = h
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func walkFS(img v1.Image, fn func(*tar.Header, io.Reader) error) error {
	rc := mutate.Extract(img)
	defer func() { _ = rc.Close() }()
	return readTar(rc, fn)
}

// extract unpacks the flattened filesystem of img into dir.
func extract(t *testing.T, img v1.Image, dir string) {
	t.Helper()
	if err := walkFS(img, func(h *tar.Header, r io.Reader) error { return extractEntry(dir, h, r) }); err != nil {
		t.Fatal(err)
	}
}

func extractEntry(dir string, h *tar.Header, r io.Reader) error {
	name := cleanName(h.Name)
	if !filepath.IsLocal(name) {
		return fmt.Errorf("entry %q leaves the root", h.Name)
	}
	target := filepath.Join(dir, name)
	switch h.Typeflag {
	case tar.TypeDir:
		return os.MkdirAll(target, os.FileMode(h.Mode).Perm())
	case tar.TypeSymlink:
		return os.Symlink(h.Linkname, target)
	case tar.TypeLink:
		return os.Link(filepath.Join(dir, cleanName(h.Linkname)), target)
	case tar.TypeReg:
		return writeFile(target, r, h.FileInfo().Mode())
	}
	return fmt.Errorf("entry %q has unexpected type %c", h.Name, h.Typeflag)
}

func writeFile(path string, r io.Reader, mode os.FileMode) error {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, mode.Perm())
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, r); err != nil {
		_ = f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Chmod(path, mode) // keep setuid bits that the umask drops
}

// inChroot runs argv inside root as uid:uid and returns its combined output
// and exit code.
func inChroot(t *testing.T, root string, uid int, argv ...string) (string, int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.WaitDelay = 5 * time.Second // a child holding the output open
	cmd.Env = []string{"PATH=" + imagePath}
	cmd.SysProcAttr = &syscall.SysProcAttr{Chroot: root,
		Credential: &syscall.Credential{Uid: uint32(uid), Gid: uint32(uid)}}
	cmd.Dir = "/"
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	if ctx.Err() != nil {
		t.Fatalf("%v in %s did not end within a minute:\n%s", argv, root, out.String())
	}
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return out.String(), ee.ExitCode()
	}
	if err != nil {
		t.Fatalf("failed to run %v in %s: %v", argv, root, err)
	}
	return out.String(), 0
}
