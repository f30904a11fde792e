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

package pool

import (
	"fmt"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"
)

// Filesystems Info names; any other filesystem is FilesystemOther.
const (
	FilesystemXFS   = "xfs"
	FilesystemExt4  = "ext4"
	FilesystemBtrfs = "btrfs"
	FilesystemTmpfs = "tmpfs"
	FilesystemOther = "other"
)

// Info describes the filesystem a pool lives on.
type Info struct {
	// Filesystem is the type of the pool's filesystem, one of the Filesystem constants.
	Filesystem string
	// Reflink is true when snapshots and clones share extents instead of
	// being copied.
	Reflink bool
	// CapacityBytes is the size of the pool's filesystem.
	CapacityBytes int64
	// UsedBytes is the space in use on the pool's filesystem.
	UsedBytes int64
}

// Info describes the pool's filesystem.
func (p *Pool) Info() (Info, error) {
	return ReadInfo(p.dir)
}

// ReadInfo describes the filesystem of the pool directory dir without
// opening the pool, so that a reader does not rebuild the pool's state.
// Reflink support is found by cloning between two empty unnamed files, the
// same call that snapshots and clones make, so it is what they will get.
func ReadInfo(dir string) (Info, error) {
	var st unix.Statfs_t
	if err := unix.Statfs(dir, &st); err != nil {
		return Info{}, fmt.Errorf("failed to stat pool filesystem: %w", err)
	}
	reflinked, err := probeReflink(dir)
	if err != nil {
		return Info{}, err
	}
	bsize := int64(st.Bsize) //nolint:unconvert // Bsize is 32 bits on some platforms
	return Info{
		Filesystem:    filesystemName(st.Type),
		Reflink:       reflinked,
		CapacityBytes: int64(st.Blocks) * bsize,          //nolint:gosec // block counts fit
		UsedBytes:     int64(st.Blocks-st.Bfree) * bsize, //nolint:gosec // block counts fit
	}, nil
}

func filesystemName(magic int64) string {
	switch magic {
	case unix.XFS_SUPER_MAGIC:
		return FilesystemXFS
	case unix.EXT4_SUPER_MAGIC:
		return FilesystemExt4
	case unix.BTRFS_SUPER_MAGIC:
		return FilesystemBtrfs
	case unix.TMPFS_MAGIC:
		return FilesystemTmpfs
	default:
		return FilesystemOther
	}
}

// probeReflink tries a reflink between two unnamed (O_TMPFILE) files in dir,
// which vanish when closed and so leave nothing behind even after a crash.
func probeReflink(dir string) (bool, error) {
	in, err := tempFile(dir)
	if err != nil {
		return false, err
	}
	defer func() { _ = in.Close() }()
	out, err := tempFile(dir)
	if err != nil {
		return false, err
	}
	defer func() { _ = out.Close() }()
	return reflink(in, out)
}

func tempFile(dir string) (*os.File, error) {
	fd, err := unix.Open(dir, unix.O_TMPFILE|unix.O_RDWR|unix.O_CLOEXEC, 0o600)
	if err != nil {
		return nil, fmt.Errorf("failed to create a probe file in %s: %w", dir, err)
	}
	return os.NewFile(uintptr(fd), filepath.Join(dir, "reflink-probe")), nil
}
