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

package driver_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/container-storage-interface/spec/lib/go/csi"
	"google.golang.org/grpc/codes"

	"github.com/plinth-dev/plinth/csi-driver/backend"
	"github.com/plinth-dev/plinth/csi-driver/backend/pool"
	"github.com/plinth-dev/plinth/csi-driver/driver"
	"github.com/plinth-dev/plinth/csi-driver/internal/drivertest"
	"github.com/plinth-dev/plinth/test/testpool"
)

// blockCapability is a single-node writer block volume.
var blockCapability = &csi.VolumeCapability{
	AccessType: &csi.VolumeCapability_Block{Block: &csi.VolumeCapability_BlockVolume{}},
	AccessMode: &csi.VolumeCapability_AccessMode{Mode: csi.VolumeCapability_AccessMode_SINGLE_NODE_WRITER},
}

// servePool serves the driver made with opts on a fresh pool of poolFS and
// fsBytes, opened with popts.
func servePool(t *testing.T, poolFS string, fsBytes int64, popts pool.Options, opts driver.Options) *harness {
	t.Helper()
	popts.Dir = filepath.Join(testpool.Mount(t, poolFS, fsBytes), "pool")
	p, err := pool.New(popts)
	if err != nil {
		t.Fatal(err)
	}
	opts.Backend = p
	if opts.DefaultFSType == "" {
		opts.DefaultFSType = testpool.Ext4
	}
	return &harness{Driver: drivertest.ServeWith(t, opts), poolDir: popts.Dir, pool: p}
}

// TestCapacityRefusesAtCreateVolumeNotInTheTenantsFilesystem reproduces the
// overcommit of issue 12 (a 512 MiB ext4 pool at ratio 1 that accepted
// six 400 MiB inline volumes, two of which filled it). Volumes are
// requested until the driver refuses one, GetCapacity agreeing with every
// answer; an inline ephemeral volume is refused as well; then every volume
// accepted is written full through its device, and none of the writes
// fails: the pool refuses at CreateVolume, never with I/O errors inside a
// tenant's volume.
func TestCapacityRefusesAtCreateVolumeNotInTheTenantsFilesystem(t *testing.T) {
	const size = 96 << 20
	h := servePool(t, testpool.Ext4, 512<<20, pool.Options{OverProvisionRatio: 1}, driver.Options{})
	ctx := t.Context()
	var ids []string
	for i := range 20 {
		capBefore := availableCapacity(t, h)
		resp, err := h.Controller.CreateVolume(ctx, &csi.CreateVolumeRequest{
			Name: fmt.Sprintf("v%d", i), CapacityRange: &csi.CapacityRange{RequiredBytes: size},
			VolumeCapabilities: []*csi.VolumeCapability{blockCapability},
		})
		if code(err) == codes.ResourceExhausted {
			if capBefore >= size {
				t.Fatalf("CreateVolume refused %d bytes while GetCapacity offered %d: %v", size, capBefore, err)
			}
			break
		}
		if err != nil {
			t.Fatalf("CreateVolume %d: %v", i, err)
		}
		if capBefore < size {
			t.Fatalf("CreateVolume accepted %d bytes while GetCapacity offered only %d", size, capBefore)
		}
		ids = append(ids, resp.GetVolume().GetVolumeId())
	}
	if len(ids) < 3 || len(ids) > 5 {
		t.Fatalf("a 512 MiB pool accepted %d volumes of 96 MiB, want 3 to 5 (and then a refusal)", len(ids))
	}
	handle, target := ephemeralHandle("pod-1", "scratch"), filepath.Join(h.Dir, "inline")
	_, err := h.Node.NodePublishVolume(ctx, ephemeralPublish(handle, target, map[string]string{"size": "96Mi"}))
	if code(err) != codes.ResourceExhausted {
		t.Fatalf("inline volume beyond capacity: %v, want ResourceExhausted", err)
	}
	for _, id := range ids {
		fillDevice(t, h, backend.VolumeID(id), size)
	}
	t.Logf("%d volumes of %d MiB written full; %d bytes still offered", len(ids), size>>20, availableCapacity(t, h))
}

func availableCapacity(t *testing.T, h *harness) int64 {
	t.Helper()
	resp, err := h.Controller.GetCapacity(t.Context(), &csi.GetCapacityRequest{})
	if err != nil {
		t.Fatal(err)
	}
	return resp.GetAvailableCapacity()
}

// fillDevice attaches the volume and writes every byte of its device,
// failing the test on any write or flush error.
func fillDevice(t *testing.T, h *harness, id backend.VolumeID, size int64) {
	t.Helper()
	device, err := h.pool.Attach(t.Context(), id)
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := h.pool.Detach(context.Background(), id); err != nil {
			t.Error(err)
		}
	}()
	f, err := os.OpenFile(device, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = f.Close() }()
	chunk := bytes.Repeat([]byte{0xa5}, 1<<20)
	for off := int64(0); off < size; off += int64(len(chunk)) {
		if _, err := f.Write(chunk); err != nil {
			t.Fatalf("writing volume %s at %d: %v", id, off, err)
		}
	}
	if err := f.Sync(); err != nil {
		t.Fatalf("flushing volume %s: %v", id, err)
	}
}

// TestInlineVolumeLimits: an inline ephemeral volume larger than the
// node's per-volume limit is OutOfRange; one that would take the node's
// inline volumes past their total is ResourceExhausted, and fits again
// once another is unpublished.
func TestInlineVolumeLimits(t *testing.T) {
	h := servePool(t, testpool.Ext4, 1<<30, pool.Options{OverProvisionRatio: 1},
		driver.Options{EphemeralMaxVolumeBytes: 64 << 20, EphemeralMaxTotalBytes: 128 << 20})
	ctx := t.Context()
	publish := func(pod, size string) (string, string, error) {
		handle, target := ephemeralHandle(pod, "scratch"), filepath.Join(h.Dir, pod)
		_, err := h.Node.NodePublishVolume(ctx, ephemeralPublish(handle, target, map[string]string{"size": size}))
		if err == nil {
			t.Cleanup(func() { _ = h.unpublishEphemeral(context.Background(), handle, target) })
		}
		return handle, target, err
	}
	if _, _, err := publish("big", "65Mi"); code(err) != codes.OutOfRange {
		t.Fatalf("inline volume over the per-volume limit: %v, want OutOfRange", err)
	}
	handle, target, err := publish("a", "64Mi")
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := publish("b", "64Mi"); err != nil {
		t.Fatal(err)
	}
	if _, _, err := publish("c", "1Mi"); code(err) != codes.ResourceExhausted {
		t.Fatalf("inline volume over the node's total: %v, want ResourceExhausted", err)
	}
	if err := h.unpublishEphemeral(ctx, handle, target); err != nil {
		t.Fatal(err)
	}
	if _, _, err := publish("c", "1Mi"); err != nil {
		t.Fatalf("inline volume after another was unpublished: %v", err)
	}
}

// TestGetCapacityIsWhatCreateVolumeAccepts: the capacity reported for a
// class is whole MiB, a volume of exactly that size is accepted, and a
// filesystem whose smallest volume (XFS: 300 MiB) no longer fits gets none,
// so that the scheduler never sends a claim the driver would refuse.
func TestGetCapacityIsWhatCreateVolumeAccepts(t *testing.T) {
	h := servePool(t, testpool.Ext4, 512<<20, pool.Options{OverProvisionRatio: 1}, driver.Options{})
	ctx := t.Context()
	capacityFor := func(fsType string) int64 {
		resp, err := h.Controller.GetCapacity(ctx, &csi.GetCapacityRequest{VolumeCapabilities: []*csi.VolumeCapability{{
			AccessType: &csi.VolumeCapability_Mount{Mount: &csi.VolumeCapability_MountVolume{FsType: fsType}},
			AccessMode: blockCapability.GetAccessMode(),
		}}})
		if err != nil {
			t.Fatal(err)
		}
		return resp.GetAvailableCapacity()
	}
	if _, err := h.Controller.CreateVolume(ctx, &csi.CreateVolumeRequest{Name: "big", CapacityRange: &csi.CapacityRange{RequiredBytes: 256 << 20},
		VolumeCapabilities: []*csi.VolumeCapability{blockCapability}}); err != nil {
		t.Fatal(err)
	}
	ext4, xfs := capacityFor("ext4"), capacityFor("xfs")
	if ext4 <= 0 || ext4 >= 300<<20 || ext4%(1<<20) != 0 {
		t.Fatalf("ext4 capacity %d, want whole MiB between 0 and 300 MiB", ext4)
	}
	if xfs != 0 {
		t.Errorf("xfs capacity %d with %d bytes left, want 0: no XFS volume fits", xfs, ext4)
	}
	if _, err := h.Controller.CreateVolume(ctx, &csi.CreateVolumeRequest{Name: "rest", CapacityRange: &csi.CapacityRange{RequiredBytes: ext4},
		VolumeCapabilities: []*csi.VolumeCapability{blockCapability}}); err != nil {
		t.Errorf("CreateVolume of the %d bytes GetCapacity offers: %v", ext4, err)
	}
}
