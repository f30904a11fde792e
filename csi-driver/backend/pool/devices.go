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
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"time"

	"golang.org/x/sys/unix"
	"k8s.io/apimachinery/pkg/util/wait"

	"github.com/plinth-dev/plinth/csi-driver/backend"
	"github.com/plinth-dev/plinth/csi-driver/internal/mountinfo"
)

// detachTimeout bounds the wait for the kernel to complete a detach.
const detachTimeout = 10 * time.Second

// Attach attaches the volume's file to a loop device. A file already
// attached, from whichever mount namespace, keeps its device, which is
// brought to the file's size.
func (p *Pool) Attach(ctx context.Context, id backend.VolumeID) (string, error) {
	if _, err := p.GetVolume(ctx, id); err != nil {
		return "", err
	}
	data, _, err := p.volumeFiles(id)
	if err != nil {
		return "", err
	}
	d, err := openLoop(data)
	if err != nil {
		return "", err
	}
	if d != nil {
		if err := reuse(d, data); err != nil {
			return "", fmt.Errorf("failed to reuse the device of volume %s: %w", id, err)
		}
		return d.path, nil
	}
	device, err := attachLoop(data)
	if err != nil {
		return "", err
	}
	p.log.V(1).Info("Attached volume", "volumeID", id, "device", device)
	return device, nil
}

// reuse readies and closes the device an earlier Attach left: it cancels a
// detach the kernel deferred, and grows a device that its file outgrew while
// no one refreshed it.
func reuse(d *loopDevice, data string) (err error) {
	defer func() {
		if cerr := d.close(); err == nil {
			err = cerr
		}
	}()
	if err := d.keep(); err != nil {
		return err
	}
	info, err := os.Stat(data)
	if err != nil {
		return fmt.Errorf("failed to stat %s: %w", data, err)
	}
	size, err := d.size()
	if err != nil || size >= info.Size() {
		return err
	}
	return d.refresh()
}

// Detach detaches the volume's loop device, if any.
func (p *Pool) Detach(ctx context.Context, id backend.VolumeID) error {
	data, _, err := p.volumeFiles(id)
	if err != nil {
		return err
	}
	d, err := openLoop(data)
	if err != nil || d == nil {
		return err
	}
	return p.detach(ctx, id, data, d)
}

// detach detaches d, the device of the volume's data, closes it, and waits
// until the kernel has completed the detach.
func (p *Pool) detach(ctx context.Context, id backend.VolumeID, data string, d *loopDevice) error {
	err := d.detach()
	if cerr := d.close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	if err := waitDetached(ctx, data); err != nil {
		return fmt.Errorf("failed to detach %s from volume %s: %w", d.path, id, err)
	}
	p.log.V(1).Info("Detached volume", "volumeID", id, "device", d.path)
	return nil
}

// detachUnused detaches the volume's loop device, if any, unless it is in
// use (backend.ErrInUse): a deleted file that is still attached keeps its
// space. Nothing can mount the device from the check to the detach.
func (p *Pool) detachUnused(ctx context.Context, id backend.VolumeID, data string) error {
	d, err := openLoop(data)
	if err != nil || d == nil {
		return err
	}
	if err := checkUnused(d); err != nil {
		_ = d.close()
		return fmt.Errorf("failed to detach volume %s before deleting it: %w", id, err)
	}
	return p.detach(ctx, id, data, d)
}

// checkUnused claims d unless a filesystem on it is mounted, in any mount
// namespace, or the device node is bind-mounted (a published block volume)
// where this process can see it.
func checkUnused(d *loopDevice) error {
	filesystems, binds, err := mountinfo.ByDevice(d.path)
	if err != nil {
		return fmt.Errorf("failed to find mounts of %s: %w", d.path, err)
	}
	if mounts := slices.Concat(filesystems, binds); len(mounts) > 0 {
		return fmt.Errorf("%w: %s is mounted at %v", backend.ErrInUse, d.path, mounts)
	}
	err = d.claim()
	if errors.Is(err, unix.EBUSY) {
		return fmt.Errorf("%w: %s is mounted in another mount namespace or held by another device: %w", backend.ErrInUse, d.path, err)
	}
	return err
}

// waitDetached waits until no loop device is backed by data. The kernel
// defers a detach while anything holds the device open, and udev briefly
// does after every change event; returning before the detach completes would
// make the next DeleteVolume find the volume still in use.
func waitDetached(ctx context.Context, data string) error {
	err := wait.PollUntilContextTimeout(ctx, 20*time.Millisecond, detachTimeout, true, func(context.Context) (bool, error) {
		device, err := findLoop(data)
		return device == "", err
	})
	if wait.Interrupted(err) {
		return fmt.Errorf("%w: device still attached: %w", backend.ErrInUse, err)
	}
	return err
}

// Device returns the volume's loop device or backend.ErrNotAttached.
func (p *Pool) Device(_ context.Context, id backend.VolumeID) (string, error) {
	data, _, err := p.volumeFiles(id)
	if err != nil {
		return "", err
	}
	device, err := findLoop(data)
	if err != nil {
		return "", err
	}
	if device == "" {
		return "", fmt.Errorf("%w: volume %s", backend.ErrNotAttached, id)
	}
	return device, nil
}
