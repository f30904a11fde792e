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

package backend_test

import (
	"context"
	"errors"
	"fmt"
	"os/exec"
	"strconv"
	"strings"
	"time"

	"github.com/go-logr/logr"

	"github.com/plinth-dev/plinth/csi-driver/backend"
	"github.com/plinth-dev/plinth/csi-driver/driver"
)

// lvm is a backend on LVM thin provisioning: a volume is a thin LV named by
// its ID, a snapshot a thin snapshot LV. LV tags carry the CSI name and the
// source, so, as with the pool backend, the storage itself is the state.
type lvm struct {
	vg, thinPool string
}

var _ backend.Backend = (*lvm)(nil)

// lvs returns the size in bytes and the tags of LV id, or backend.ErrNotFound.
func (b *lvm) lvs(ctx context.Context, id string) (int64, []string, error) {
	out, err := exec.CommandContext(ctx, "lvs", "--noheadings", "--nosuffix", "--units", "b",
		"-o", "lv_size,lv_tags", b.vg+"/"+id).Output()
	if err != nil {
		return 0, nil, fmt.Errorf("%w: %s", backend.ErrNotFound, id)
	}
	fields := strings.Fields(string(out))
	if len(fields) == 0 {
		return 0, nil, fmt.Errorf("failed to parse lvs output %q", out)
	}
	size, err := strconv.ParseInt(fields[0], 10, 64)
	if err != nil {
		return 0, nil, fmt.Errorf("failed to parse LV size: %w", err)
	}
	var tags []string
	if len(fields) > 1 {
		tags = strings.Split(fields[1], ",")
	}
	return size, tags, nil
}

func run(ctx context.Context, name string, args ...string) error {
	if out, err := exec.CommandContext(ctx, name, args...).CombinedOutput(); err != nil {
		if strings.Contains(string(out), "insufficient free space") {
			return fmt.Errorf("%w: %s", backend.ErrNoSpace, out)
		}
		return fmt.Errorf("failed to run %s: %w: %s", name, err, out)
	}
	return nil
}

func (b *lvm) CreateVolume(ctx context.Context, req backend.VolumeRequest) (backend.Volume, error) {
	if size, _, err := b.lvs(ctx, string(req.ID)); err == nil {
		if size != req.CapacityBytes {
			return backend.Volume{}, fmt.Errorf("%w: %s has %d bytes", backend.ErrExists, req.ID, size)
		}
		return backend.Volume{ID: req.ID, Name: req.Name, CapacityBytes: size, Source: req.Source}, nil
	}
	size := strconv.FormatInt(req.CapacityBytes, 10) + "b"
	var err error
	switch {
	case req.Source.Snapshot != "":
		err = b.copyLV(ctx, string(req.Source.Snapshot), req, size)
	case req.Source.Volume != "":
		err = b.copyLV(ctx, string(req.Source.Volume), req, size)
	default:
		err = run(ctx, "lvcreate", "-T", b.vg+"/"+b.thinPool, "-V", size, "-n", string(req.ID), "--addtag", "plinth")
	}
	if err != nil {
		return backend.Volume{}, err
	}
	return backend.Volume{ID: req.ID, Name: req.Name, CapacityBytes: req.CapacityBytes, Source: req.Source, CreatedAt: time.Now()}, nil
}

// copyLV makes req.ID a thin snapshot of source (O(1), like a reflink) and
// grows it to the requested size.
func (b *lvm) copyLV(ctx context.Context, source string, req backend.VolumeRequest, size string) error {
	if _, _, err := b.lvs(ctx, source); err != nil {
		return err
	}
	if err := run(ctx, "lvcreate", "-s", "-kn", "-n", string(req.ID), "--addtag", "plinth", b.vg+"/"+source); err != nil {
		return err
	}
	return run(ctx, "lvextend", "-L", size, b.vg+"/"+string(req.ID))
}

func (b *lvm) DeleteVolume(ctx context.Context, id backend.VolumeID) error {
	if _, _, err := b.lvs(ctx, string(id)); errors.Is(err, backend.ErrNotFound) {
		return nil
	}
	return run(ctx, "lvremove", "-y", b.vg+"/"+string(id))
}

func (b *lvm) ExpandVolume(ctx context.Context, id backend.VolumeID, sizeBytes int64) (backend.Volume, error) {
	vol, err := b.GetVolume(ctx, id)
	if err != nil || sizeBytes <= vol.CapacityBytes {
		return vol, err
	}
	if err := run(ctx, "lvextend", "-L", strconv.FormatInt(sizeBytes, 10)+"b", b.vg+"/"+string(id)); err != nil {
		return backend.Volume{}, err
	}
	vol.CapacityBytes = sizeBytes
	return vol, nil
}

func (b *lvm) GetVolume(ctx context.Context, id backend.VolumeID) (backend.Volume, error) {
	size, _, err := b.lvs(ctx, string(id))
	return backend.Volume{ID: id, CapacityBytes: size}, err
}

func (b *lvm) ListVolumes(context.Context) ([]backend.Volume, error) {
	return nil, errors.New("left out of the example: lvs -S lv_name=~^vol- and parse each line")
}

func (b *lvm) CreateSnapshot(ctx context.Context, req backend.SnapshotRequest) (backend.Snapshot, error) {
	size, _, err := b.lvs(ctx, string(req.SourceVolume))
	if err != nil {
		return backend.Snapshot{}, err
	}
	if _, _, err := b.lvs(ctx, string(req.ID)); err != nil {
		if err := run(ctx, "lvcreate", "-s", "-n", string(req.ID), "--addtag", "source="+string(req.SourceVolume), b.vg+"/"+string(req.SourceVolume)); err != nil {
			return backend.Snapshot{}, err
		}
	}
	return backend.Snapshot{ID: req.ID, Name: req.Name, SourceVolume: req.SourceVolume, SizeBytes: size, CreatedAt: time.Now()}, nil
}

func (b *lvm) DeleteSnapshot(ctx context.Context, id backend.SnapshotID) error {
	if _, _, err := b.lvs(ctx, string(id)); errors.Is(err, backend.ErrNotFound) {
		return nil
	}
	return run(ctx, "lvremove", "-y", b.vg+"/"+string(id))
}

func (b *lvm) GetSnapshot(ctx context.Context, id backend.SnapshotID) (backend.Snapshot, error) {
	size, _, err := b.lvs(ctx, string(id))
	return backend.Snapshot{ID: id, SizeBytes: size}, err
}

func (b *lvm) ListSnapshots(context.Context) ([]backend.Snapshot, error) {
	return nil, errors.New("left out of the example: lvs -S lv_name=~^snap- and parse each line")
}

func (b *lvm) Attach(ctx context.Context, id backend.VolumeID) (string, error) {
	if err := run(ctx, "lvchange", "-ay", "-K", b.vg+"/"+string(id)); err != nil {
		return "", err
	}
	return "/dev/" + b.vg + "/" + string(id), nil
}

func (b *lvm) Detach(ctx context.Context, id backend.VolumeID) error {
	return run(ctx, "lvchange", "-an", b.vg+"/"+string(id))
}

func (b *lvm) Device(ctx context.Context, id backend.VolumeID) (string, error) {
	if err := run(ctx, "test", "-b", "/dev/"+b.vg+"/"+string(id)); err != nil {
		return "", fmt.Errorf("%w: %s", backend.ErrNotAttached, id)
	}
	return "/dev/" + b.vg + "/" + string(id), nil
}

func (b *lvm) Capacity(ctx context.Context) (backend.Capacity, error) {
	out, err := exec.CommandContext(ctx, "vgs", "--noheadings", "--nosuffix", "--units", "b", "-o", "vg_free", b.vg).Output()
	if err != nil {
		return backend.Capacity{}, fmt.Errorf("failed to run vgs: %w", err)
	}
	free, err := strconv.ParseInt(strings.TrimSpace(string(out)), 10, 64)
	if err != nil {
		return backend.Capacity{}, fmt.Errorf("failed to parse vgs output: %w", err)
	}
	return backend.Capacity{AvailableBytes: free, MaximumVolumeBytes: free, MinimumVolumeBytes: 4 << 20}, nil
}

func (b *lvm) Probe(ctx context.Context) error {
	return run(ctx, "vgs", b.vg)
}

// Example_lvmBackend shows a storage vendor's whole integration: implement
// backend.Backend (here on LVM thin volumes, above) and hand it to the driver.
func Example_lvmBackend() {
	d, err := driver.New(driver.Options{
		NodeID:  "node-a",
		Backend: &lvm{vg: "vg0", thinPool: "thin"},
		Logger:  logr.Discard(),
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	srv := driver.NewGRPCServer(d, nil)
	defer srv.Stop()
	fmt.Println("driver ready")
	// Output: driver ready
}
