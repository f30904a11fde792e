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

package testpool

import (
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/plinth-dev/plinth/test/prereq"
	"github.com/plinth-dev/plinth/test/reaper"
)

// Filesystems of a test pool.
const (
	// XFS is formatted with reflink=1, so clones share extents.
	XFS = "xfs"
	// Ext4 cannot share extents, so clones fall back to copying.
	Ext4 = "ext4"
)

// Mount creates a pool filesystem of the given type and size and returns its
// mount point. It skips (or, under CI, fails) the test without root or tools.
func Mount(tb testing.TB, fsType string, sizeBytes int64) string {
	tb.Helper()
	RequireNodeTools(tb)
	dir := tb.TempDir()
	image, mnt := filepath.Join(dir, "pool.img"), filepath.Join(dir, "mnt")
	run(tb, "truncate", "-s", itoa(sizeBytes), image)
	switch fsType {
	case XFS:
		run(tb, "mkfs.xfs", "-q", "-f", "-m", "reflink=1", image)
	case Ext4:
		run(tb, "mkfs.ext4", "-q", "-F", image)
	default:
		tb.Fatalf("unknown pool filesystem %q", fsType)
	}
	run(tb, "mkdir", mnt)
	// A killed test binary cannot run its cleanups: the reaper unmounts
	// and detaches for it.
	if r, err := reaper.Get(); err == nil {
		_ = r.Track(func(s *reaper.State) {
			s.Mounts = append(s.Mounts, mnt)
			s.LoopFiles = append(s.LoopFiles, image)
		})
	}
	// A loop mount detaches its device automatically on unmount.
	run(tb, "mount", "-o", "loop", image, mnt)
	tb.Cleanup(func() {
		if out, err := exec.Command("umount", mnt).CombinedOutput(); err != nil {
			tb.Errorf("failed to unmount test pool %s: %v: %s", mnt, err, out)
		}
	})
	return mnt
}

// RequireNodeTools skips (or fails under CI) a test that needs root and the
// tools the pool backend and the node service run.
func RequireNodeTools(tb testing.TB) {
	tb.Helper()
	prereq.Root(tb)
	prereq.Commands(tb, "losetup", "mount", "umount", "mkfs.xfs", "mkfs.ext4", "xfs_growfs", "resize2fs", "blkid", "truncate")
}

func run(tb testing.TB, name string, args ...string) {
	tb.Helper()
	if out, err := exec.Command(name, args...).CombinedOutput(); err != nil {
		tb.Fatalf("%s %v: %v: %s", name, args, err, out)
	}
}

func itoa(n int64) string {
	return strconv.FormatInt(n, 10)
}
