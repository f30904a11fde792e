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

package driver

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/plinth-dev/plinth/test/prereq"
)

// TestExtGrowthMatchesResize2fs checks needsGrowth against resize2fs itself
// on image files: whenever it says grow, resize2fs grows the filesystem, and
// after resize2fs it never asks for more, even when the device ends in a
// group too small for resize2fs to use.
func TestExtGrowthMatchesResize2fs(t *testing.T) {
	prereq.Commands(t, "mkfs.ext4", "e2fsck", "resize2fs")
	for _, size := range []int64{512 * mib, 513 * mib, 515 * mib, 520 * mib, 600 * mib, 1024 * mib, 1025 * mib} {
		img := filepath.Join(t.TempDir(), "ext4.img")
		makeImage(t, img, 512*mib, "mkfs.ext4", "-q", "-F", "-m0", img)
		resizeImage(t, img, size)
		before := imageGeometry(t, img, fsExt4)
		grow := before.needsGrowth(size)
		run(t, "e2fsck", "-f", "-p", img)
		run(t, "resize2fs", img)
		after := imageGeometry(t, img, fsExt4)
		if grow && after.sizeBytes <= before.sizeBytes {
			t.Errorf("device of %d MiB: needsGrowth said grow, resize2fs kept %d bytes", size/mib, after.sizeBytes)
		}
		if after.needsGrowth(size) {
			t.Errorf("device of %d MiB: resize2fs grew to %d bytes and needsGrowth still asks for more", size/mib, after.sizeBytes)
		}
		if size-after.sizeBytes >= 8*mib {
			t.Errorf("device of %d MiB: filesystem of %d bytes left more than 8 MiB unused", size/mib, after.sizeBytes)
		}
	}
}

// TestFreshExtOnAnOddSizedDeviceNeedsNoGrowth covers mke2fs dropping a
// trailing group too small for its bookkeeping, as resize2fs does.
func TestFreshExtOnAnOddSizedDeviceNeedsNoGrowth(t *testing.T) {
	prereq.Commands(t, "mkfs.ext4")
	img := filepath.Join(t.TempDir(), "ext4.img")
	makeImage(t, img, 513*mib, "mkfs.ext4", "-q", "-F", "-m0", img)
	if g := imageGeometry(t, img, fsExt4); g.needsGrowth(513 * mib) {
		t.Errorf("a fresh filesystem of %d bytes on 513 MiB needs growth", g.sizeBytes)
	}
}

func TestXFSGrowthFollowsTheDevice(t *testing.T) {
	prereq.Commands(t, "mkfs.xfs")
	img := filepath.Join(t.TempDir(), "xfs.img")
	makeImage(t, img, 512*mib, "mkfs.xfs", "-q", "-f", img)
	g := imageGeometry(t, img, fsXFS)
	if g.needsGrowth(512 * mib) {
		t.Errorf("a fresh xfs filesystem of %d bytes on 512 MiB needs growth", g.sizeBytes)
	}
	if !g.needsGrowth(513 * mib) {
		t.Error("an xfs filesystem on a device 1 MiB larger needs no growth")
	}
}

// TestUnknownContentIsNeverGrown checks that a device without a recognised
// superblock is an error, so the driver leaves it alone.
func TestUnknownContentIsNeverGrown(t *testing.T) {
	img := filepath.Join(t.TempDir(), "blank.img")
	resizeImage(t, img, 64*mib)
	for _, format := range []string{fsExt4, fsXFS, "btrfs"} {
		if _, err := needsGrowth(img, format); !errors.Is(err, errUnknownSuperblock) {
			t.Errorf("%s on a blank device: error %v, want errUnknownSuperblock", format, err)
		}
	}
}

func makeImage(t *testing.T, img string, size int64, mkfs ...string) {
	t.Helper()
	resizeImage(t, img, size)
	run(t, mkfs[0], mkfs[1:]...)
}

func resizeImage(t *testing.T, img string, size int64) {
	t.Helper()
	f, err := os.OpenFile(img, os.O_CREATE|os.O_WRONLY, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := f.Truncate(size); err != nil {
		t.Fatal(err)
	}
}

func imageGeometry(t *testing.T, img, format string) geometry {
	t.Helper()
	g, err := readGeometry(img, format)
	if err != nil {
		t.Fatal(err)
	}
	return g
}

func run(t *testing.T, name string, args ...string) {
	t.Helper()
	if out, err := exec.Command(name, args...).CombinedOutput(); err != nil {
		t.Fatalf("%s %v: %v: %s", name, args, err, out)
	}
}
