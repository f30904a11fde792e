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

package pool_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/plinth-dev/plinth/csi-driver/backend"
	"github.com/plinth-dev/plinth/csi-driver/backend/pool"
	"github.com/plinth-dev/plinth/csi-driver/backend/pool/pooltest"
	"github.com/plinth-dev/plinth/test/testpool"
)

// mountedPool opens a pool on a loop-mounted XFS filesystem and returns it
// with its directory.
func mountedPool(t *testing.T) (*pool.Pool, string) {
	t.Helper()
	dir := filepath.Join(testpool.Mount(t, testpool.XFS, 512*mib), "pool")
	return openPool(t, dir), dir
}

// TestDeviceAttachedBeforeARestartStaysTheVolumesDevice covers a plinth-node
// that restarted in a new container: the volume was attached in the old
// container's mount namespace, where the pool had another path, and every
// device operation of the new one must still find that device.
func TestDeviceAttachedBeforeARestartStaysTheVolumesDevice(t *testing.T) {
	p, dir := mountedPool(t)
	for name, check := range map[string]func(t *testing.T, p *pool.Pool, id backend.VolumeID, a pooltest.Attached){
		"Device returns it":                            deviceReturnsIt,
		"Attach reuses it":                             attachReusesIt,
		"Attach grows it to a file that grew":          attachGrowsIt,
		"Attach keeps it when a detach was deferred":   attachCancelsDeferredDetach,
		"Detach detaches it":                           detachDetachesIt,
		"ExpandVolume grows it online":                 expandGrowsIt,
		"DeleteVolume detaches it before the deletion": deleteDetachesIt,
	} {
		t.Run(name, func(t *testing.T) {
			vol := create(t, p, name, 8*mib)
			check(t, p, vol.ID, pooltest.AttachElsewhere(t, dir, vol.ID))
		})
	}
}

func deviceReturnsIt(t *testing.T, p *pool.Pool, id backend.VolumeID, a pooltest.Attached) {
	if got, err := p.Device(t.Context(), id); err != nil || got != a.Device {
		t.Fatalf("Device = %q, %v; want %s", got, err, a.Device)
	}
}

func attachReusesIt(t *testing.T, p *pool.Pool, id backend.VolumeID, a pooltest.Attached) {
	if got, err := p.Attach(t.Context(), id); err != nil || got != a.Device {
		t.Errorf("Attach = %q, %v; want %s", got, err, a.Device)
	}
	assertDevices(t, a, a.Device)
}

// attachGrowsIt expands the file as a plinth-node that did not find the
// device did, without refreshing the device.
func attachGrowsIt(t *testing.T, p *pool.Pool, id backend.VolumeID, a pooltest.Attached) {
	if err := os.Truncate(a.File, 16*mib); err != nil {
		t.Fatal(err)
	}
	if got, err := p.Attach(t.Context(), id); err != nil || got != a.Device {
		t.Fatalf("Attach = %q, %v; want %s", got, err, a.Device)
	}
	assertDeviceSize(t, a.Device, 16*mib)
}

// attachCancelsDeferredDetach detaches the device while a reader holds it
// open, which the kernel defers to the last close, then attaches it again:
// the device must survive the reader's close.
func attachCancelsDeferredDetach(t *testing.T, p *pool.Pool, id backend.VolumeID, a pooltest.Attached) {
	reader, err := os.Open(a.Device)
	if err != nil {
		t.Fatal(err)
	}
	defer reader.Close()
	ctx, cancel := context.WithTimeout(t.Context(), 200*time.Millisecond)
	defer cancel()
	if err := p.Detach(ctx, id); !errors.Is(err, backend.ErrInUse) {
		t.Fatalf("Detach of an open device = %v, want %v", err, backend.ErrInUse)
	}
	if got, err := p.Attach(t.Context(), id); err != nil || got != a.Device {
		t.Fatalf("Attach = %q, %v; want %s", got, err, a.Device)
	}
	if err := reader.Close(); err != nil {
		t.Fatal(err)
	}
	assertDevices(t, a, a.Device)
}

func detachDetachesIt(t *testing.T, p *pool.Pool, id backend.VolumeID, a pooltest.Attached) {
	if err := p.Detach(t.Context(), id); err != nil {
		t.Fatalf("Detach: %v", err)
	}
	assertDevices(t, a)
	if _, err := p.Device(t.Context(), id); !errors.Is(err, backend.ErrNotAttached) {
		t.Errorf("Device after Detach: %v, want %v", err, backend.ErrNotAttached)
	}
}

func expandGrowsIt(t *testing.T, p *pool.Pool, id backend.VolumeID, a pooltest.Attached) {
	if _, err := p.ExpandVolume(t.Context(), id, 16*mib); err != nil {
		t.Fatalf("ExpandVolume: %v", err)
	}
	assertDeviceSize(t, a.Device, 16*mib)
}

func deleteDetachesIt(t *testing.T, p *pool.Pool, id backend.VolumeID, a pooltest.Attached) {
	if err := p.DeleteVolume(t.Context(), id); err != nil {
		t.Fatalf("DeleteVolume: %v", err)
	}
	if exists(a.File) {
		t.Error("DeleteVolume left the volume's file")
	}
	if devices := a.Devices(t); len(devices) > 0 {
		t.Errorf("DeleteVolume deleted the file still attached as %v: its space is never freed", devices)
	}
}

// TestDeleteVolumeRefusesAVolumeInUse covers a volume whose device, attached
// before a restart, is still in use: DeleteVolume must leave it alone.
func TestDeleteVolumeRefusesAVolumeInUse(t *testing.T) {
	p, dir := mountedPool(t)
	for name, use := range map[string]func(t *testing.T, dir string, id backend.VolumeID) pooltest.Attached{
		"filesystem mounted in this mount namespace": func(t *testing.T, dir string, id backend.VolumeID) pooltest.Attached {
			a := pooltest.AttachElsewhere(t, dir, id)
			run(t, "mkfs.ext4", "-q", a.Device)
			mountAt(t, a.Device, t.TempDir())
			return a
		},
		"filesystem mounted only in another mount namespace": func(t *testing.T, dir string, id backend.VolumeID) pooltest.Attached {
			return pooltest.MountElsewhere(t, dir, id)
		},
		"device published as a block volume": func(t *testing.T, dir string, id backend.VolumeID) pooltest.Attached {
			a := pooltest.AttachElsewhere(t, dir, id)
			target := filepath.Join(t.TempDir(), "block")
			if err := os.WriteFile(target, nil, 0o600); err != nil {
				t.Fatal(err)
			}
			mountAt(t, a.Device, target, "--bind")
			return a
		},
	} {
		t.Run(name, func(t *testing.T) {
			vol := create(t, p, name, 8*mib)
			a := use(t, dir, vol.ID)
			if err := p.DeleteVolume(t.Context(), vol.ID); !errors.Is(err, backend.ErrInUse) {
				t.Fatalf("DeleteVolume = %v, want %v", err, backend.ErrInUse)
			}
			if _, err := p.GetVolume(t.Context(), vol.ID); err != nil {
				t.Errorf("volume after a refused DeleteVolume: %v", err)
			}
			if !exists(a.File) {
				t.Error("a refused DeleteVolume removed the volume's file")
			}
			assertDevices(t, a, a.Device)
		})
	}
}

// TestConcurrentAttachesGetOneDeviceEach races attaches for the free loop
// devices.
func TestConcurrentAttachesGetOneDeviceEach(t *testing.T) {
	const n = 8
	p, _ := mountedPool(t)
	ids := make([]backend.VolumeID, n)
	devices := make([]string, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		ids[i] = create(t, p, fmt.Sprintf("pvc-%d", i), mib).ID
		t.Cleanup(func() {
			if err := p.Detach(context.Background(), ids[i]); err != nil {
				t.Error(err)
			}
		})
		wg.Go(func() { devices[i], errs[i] = p.Attach(t.Context(), ids[i]) })
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
	if distinct := len(slices.Compact(slices.Sorted(slices.Values(devices)))); distinct != n {
		t.Errorf("%d attaches got %d distinct devices: %v", n, distinct, devices)
	}
	for i, id := range ids {
		if got, err := p.Device(t.Context(), id); err != nil || got != devices[i] {
			t.Errorf("Device of volume %d = %q, %v; want %s", i, got, err, devices[i])
		}
	}
}

// assertDevices checks that exactly want are backed by the volume's file.
func assertDevices(t *testing.T, a pooltest.Attached, want ...string) {
	t.Helper()
	if got := a.Devices(t); !slices.Equal(got, want) {
		t.Errorf("volume file backs %v, want %v", got, want)
	}
}

func assertDeviceSize(t *testing.T, device string, want int64) {
	t.Helper()
	f, err := os.Open(device)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	size, err := f.Seek(0, io.SeekEnd)
	if err != nil {
		t.Fatal(err)
	}
	if size != want {
		t.Errorf("%s has %d bytes, want %d", device, size, want)
	}
}

// mountAt mounts device at target with extra options and unmounts it when
// the test ends.
func mountAt(t *testing.T, device, target string, options ...string) {
	t.Helper()
	run(t, "mount", append(options, device, target)...)
	t.Cleanup(func() {
		if out, err := exec.Command("umount", target).CombinedOutput(); err != nil {
			t.Errorf("failed to unmount %s: %v: %s", target, err, out)
		}
	})
}

func run(t *testing.T, name string, args ...string) {
	t.Helper()
	if out, err := exec.Command(name, args...).CombinedOutput(); err != nil {
		t.Fatalf("%s %v: %v: %s", name, args, err, out)
	}
}
