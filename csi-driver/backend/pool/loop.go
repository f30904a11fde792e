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
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"
)

const (
	// sysBlock lists the block devices, loop devices among them.
	sysBlock = "/sys/block"
	// devDir holds the device nodes.
	devDir = "/dev"
	// loopControl hands out free loop devices.
	loopControl = "/dev/loop-control"
	// attachAttempts bounds the retries when another process configures the
	// free device between LOOP_CTL_GET_FREE and LOOP_CONFIGURE.
	attachAttempts = 16
)

// fileID identifies a file as loop devices report their backing file: by
// the device and inode numbers, which, unlike the path, do not depend on the
// mount namespace of whoever asks.
type fileID struct{ dev, ino uint64 }

func statID(file string) (fileID, error) {
	var st unix.Stat_t
	if err := unix.Stat(file, &st); err != nil {
		return fileID{}, fmt.Errorf("failed to stat %s: %w", file, err)
	}
	return fileID{dev: st.Dev, ino: st.Ino}, nil
}

// loopDevice is an open loop device and its status. While it is open, the
// device stays bound to the same file: the kernel defers every detach, by
// this process or another, to the last close.
type loopDevice struct {
	path string
	f    *os.File
	info *unix.LoopInfo64
	// claimed is the device opened exclusively, once claim succeeded.
	claimed *os.File
}

func (d *loopDevice) fd() int { return int(d.f.Fd()) }

func (d *loopDevice) close() error {
	if d.claimed != nil {
		_ = d.claimed.Close() // read-only: nothing to flush
	}
	if err := d.f.Close(); err != nil {
		return fmt.Errorf("failed to close %s: %w", d.path, err)
	}
	return nil
}

// findLoop returns the loop device backed by file, or "" when it has none.
func findLoop(file string) (string, error) {
	d, err := openLoop(file)
	if err != nil || d == nil {
		return "", err
	}
	return d.path, d.close()
}

// openLoop returns the loop device backed by file, open, or nil when the
// file is not attached. A missing file has no device that could be found.
func openLoop(file string) (*loopDevice, error) {
	id, err := statID(file)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	names, err := loopNames()
	if err != nil {
		return nil, err
	}
	for _, name := range names {
		d, err := openIfBacking(name, id)
		if err != nil || d != nil {
			return d, err
		}
	}
	return nil, nil
}

// loopNames lists the loop devices the kernel has, bound or not.
func loopNames() ([]string, error) {
	entries, err := os.ReadDir(sysBlock)
	if err != nil {
		return nil, fmt.Errorf("failed to list loop devices: %w", err)
	}
	names := make([]string, 0, len(entries))
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), "loop") {
			names = append(names, e.Name())
		}
	}
	return names, nil
}

// openIfBacking opens loop device name and returns it when it is backed by
// the file id, or nil when it is not. An unbound device, or one detached or
// removed while we look, is not.
func openIfBacking(name string, id fileID) (*loopDevice, error) {
	path := filepath.Join(devDir, name)
	f, err := os.Open(path)
	switch {
	case errors.Is(err, unix.ENXIO), errors.Is(err, fs.ErrNotExist) && !isBound(name):
		return nil, nil
	case err != nil:
		return nil, fmt.Errorf("failed to open loop device: %w", err)
	}
	info, err := unix.IoctlLoopGetStatus64(int(f.Fd()))
	if err == nil && info.Device == id.dev && info.Inode == id.ino {
		return &loopDevice{path: path, f: f, info: info}, nil
	}
	_ = f.Close()
	if err != nil && !errors.Is(err, unix.ENXIO) {
		return nil, fmt.Errorf("failed to read the status of %s: %w", path, err)
	}
	return nil, nil
}

// isBound reports whether the kernel lists loop device name as bound to a file.
func isBound(name string) bool {
	_, err := os.Stat(filepath.Join(sysBlock, name, "loop"))
	return err == nil
}

// attachLoop attaches file to a free loop device and returns the device.
// The device does not clear itself on last close: it stays attached across
// restarts of the driver until detachLoop.
func attachLoop(file string) (string, error) {
	backing, err := os.OpenFile(file, os.O_RDWR, 0)
	if err != nil {
		return "", fmt.Errorf("failed to open %s: %w", file, err)
	}
	defer func() { _ = backing.Close() }()
	ctl, err := os.OpenFile(loopControl, os.O_RDWR, 0)
	if err != nil {
		return "", fmt.Errorf("failed to open %s: %w", loopControl, err)
	}
	defer func() { _ = ctl.Close() }()
	for range attachAttempts {
		n, err := unix.IoctlRetInt(int(ctl.Fd()), unix.LOOP_CTL_GET_FREE)
		if err != nil {
			return "", fmt.Errorf("failed to find a free loop device: %w", err)
		}
		device := filepath.Join(devDir, fmt.Sprintf("loop%d", n))
		err = configureLoop(device, backing, file)
		if err == nil {
			return device, nil
		}
		if !errors.Is(err, unix.EBUSY) {
			return "", err
		}
	}
	return "", fmt.Errorf("failed to attach %s: other processes took %d free loop devices first", file, attachAttempts)
}

// configureLoop binds device to backing in one call. It fails with EBUSY
// when another process bound the device first. The device is opened for
// writing, or the kernel would make it read-only.
func configureLoop(device string, backing *os.File, file string) error {
	f, err := os.OpenFile(device, os.O_RDWR, 0)
	if err != nil {
		return fmt.Errorf("failed to open %s: %w", device, err)
	}
	defer func() { _ = f.Close() }()
	fd := int(backing.Fd())
	cfg := unix.LoopConfig{Fd: uint32(fd)} //nolint:gosec // a file descriptor is a small non-negative int
	copy(cfg.Info.File_name[:unix.LO_NAME_SIZE-1], file)
	if err := unix.IoctlLoopConfigure(int(f.Fd()), &cfg); err != nil {
		return fmt.Errorf("failed to attach %s to %s: %w", file, device, err)
	}
	return nil
}

// detach asks the kernel to detach the device. The kernel completes it on
// the last close, which is at once when nothing else has the device open.
func (d *loopDevice) detach() error {
	if err := unix.IoctlSetInt(d.fd(), unix.LOOP_CLR_FD, 0); err != nil {
		return fmt.Errorf("failed to detach %s: %w", d.path, err)
	}
	return nil
}

// keep cancels a detach the kernel deferred because the device was open,
// so that the device stays attached after its last close.
func (d *loopDevice) keep() error {
	if d.info.Flags&unix.LO_FLAGS_AUTOCLEAR == 0 {
		return nil
	}
	info := *d.info
	info.Flags &^= unix.LO_FLAGS_AUTOCLEAR
	if err := unix.IoctlLoopSetStatus64(d.fd(), &info); err != nil {
		return fmt.Errorf("failed to cancel the pending detach of %s: %w", d.path, err)
	}
	return nil
}

// refresh makes the device pick up the size of its backing file.
func (d *loopDevice) refresh() error {
	if err := unix.IoctlSetInt(d.fd(), unix.LOOP_SET_CAPACITY, 0); err != nil {
		return fmt.Errorf("failed to refresh the size of %s: %w", d.path, err)
	}
	return nil
}

// size returns the size of the device in bytes.
func (d *loopDevice) size() (int64, error) {
	size, err := d.f.Seek(0, io.SeekEnd)
	if err != nil {
		return 0, fmt.Errorf("failed to read the size of %s: %w", d.path, err)
	}
	return size, nil
}

// claim opens the device exclusively, which fails with EBUSY while a
// filesystem on it is mounted in any mount namespace or another exclusive
// holder has it. Until close, nothing can mount the device.
func (d *loopDevice) claim() error {
	f, err := os.OpenFile(d.path, os.O_RDONLY|unix.O_EXCL, 0)
	if err != nil {
		return fmt.Errorf("failed to claim %s: %w", d.path, err)
	}
	d.claimed = f
	return nil
}
