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

	"golang.org/x/sys/unix"

	"github.com/plinth-dev/plinth/csi-driver/internal/mountinfo"
)

// The Linux freeze ioctls, _IOWR('X', 119, int) and _IOWR('X', 120, int);
// golang.org/x/sys does not define them.
const (
	ioctlFIFREEZE = 0xc0045877
	ioctlFITHAW   = 0xc0045878
)

// quiesce makes the content of device stable for a copy and returns the
// function that releases it. A mounted filesystem is frozen (its journal
// flushed, new writes blocked); an unmounted device has its buffers flushed.
func quiesce(device string) (func() error, error) {
	filesystems, _, err := mountinfo.ByDevice(device)
	if err != nil {
		return nil, fmt.Errorf("failed to find mounts of %s: %w", device, err)
	}
	if len(filesystems) == 0 {
		return func() error { return nil }, syncDevice(device)
	}
	return freeze(filesystems[0])
}

func syncDevice(device string) error {
	f, err := os.Open(device)
	if err != nil {
		return fmt.Errorf("failed to open %s: %w", device, err)
	}
	defer func() { _ = f.Close() }()
	if err := f.Sync(); err != nil {
		return fmt.Errorf("failed to flush %s: %w", device, err)
	}
	return nil
}

// freeze freezes the filesystem mounted at mountPoint. Every mount of one
// filesystem shares the superblock, so freezing one mount freezes them all.
func freeze(mountPoint string) (func() error, error) {
	dir, err := os.Open(mountPoint)
	if err != nil {
		return nil, fmt.Errorf("failed to open %s: %w", mountPoint, err)
	}
	if err := ioctl(dir, ioctlFIFREEZE); err != nil {
		_ = dir.Close()
		return nil, fmt.Errorf("failed to freeze %s: %w", mountPoint, err)
	}
	return func() error {
		defer func() { _ = dir.Close() }()
		if err := ioctl(dir, ioctlFITHAW); err != nil {
			return fmt.Errorf("failed to thaw %s: %w", mountPoint, err)
		}
		return nil
	}, nil
}

func ioctl(f *os.File, req uint) error {
	_, _, errno := unix.Syscall(unix.SYS_IOCTL, f.Fd(), uintptr(req), 0)
	if errno != 0 {
		return fmt.Errorf("failed to run ioctl %#x: %w", req, errno)
	}
	return nil
}
