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
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/container-storage-interface/spec/lib/go/csi"
	"golang.org/x/sys/unix"
	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/proto"

	"github.com/plinth-dev/plinth/csi-driver/backend"
	"github.com/plinth-dev/plinth/csi-driver/driver"
	"github.com/plinth-dev/plinth/csi-driver/internal/drivertest"
	"github.com/plinth-dev/plinth/test/testpool"
)

// ephemeralHandle is the volume ID kubelet gives an inline volume: the hex
// SHA-256 of the pod UID and the volume's name.
func ephemeralHandle(podUID, volume string) string {
	return fmt.Sprintf("csi-%x", sha256.Sum256([]byte(podUID+volume)))
}

// ephemeralPublish is the NodePublishVolume kubelet sends for an inline
// volume with attrs as its volumeAttributes (podInfoOnMount on).
func ephemeralPublish(handle, target string, attrs map[string]string) *csi.NodePublishVolumeRequest {
	volumeContext := map[string]string{
		"csi.storage.k8s.io/ephemeral":           "true",
		"csi.storage.k8s.io/pod.name":            "app",
		"csi.storage.k8s.io/pod.namespace":       "default",
		"csi.storage.k8s.io/pod.uid":             "0b7a3c6e-2f1d-4c52-9a8e-5d3f1e2a7b90",
		"csi.storage.k8s.io/serviceAccount.name": "default",
	}
	maps.Copy(volumeContext, attrs)
	return &csi.NodePublishVolumeRequest{VolumeId: handle, TargetPath: target, VolumeCapability: drivertest.MountCapability, VolumeContext: volumeContext}
}

func (h *harness) unpublishEphemeral(ctx context.Context, handle, target string) error {
	_, err := h.Node.NodeUnpublishVolume(ctx, &csi.NodeUnpublishVolumeRequest{VolumeId: handle, TargetPath: target})
	return err
}

func TestEphemeralVolumeLivesAndDiesWithItsPublication(t *testing.T) {
	h := startDriver(t, testpool.XFS, testpool.Ext4)
	for name, tc := range map[string]struct {
		attrs     map[string]string
		wantFS    int64
		wantBytes int64
	}{
		"defaults":                    {nil, unix.EXT4_SUPER_MAGIC, 1 << 30},
		"size rounds up to whole MiB": {map[string]string{"size": "100M"}, unix.EXT4_SUPER_MAGIC, 96 << 20},
		"xfs is at least 300 MiB":     {map[string]string{"size": "64Mi", "fsType": "xfs"}, unix.XFS_SUPER_MAGIC, 300 << 20},
		"size and fsType as given":    {map[string]string{"size": "512Mi", "fsType": "ext4"}, unix.EXT4_SUPER_MAGIC, 512 << 20},
		"fractional quantity":         {map[string]string{"size": "0.5Gi"}, unix.EXT4_SUPER_MAGIC, 512 << 20},
	} {
		t.Run(name, func(t *testing.T) {
			ctx := t.Context()
			handle, target := ephemeralHandle("pod-1", name), filepath.Join(h.Dir, strings.ReplaceAll(name, " ", "-"))
			t.Cleanup(func() { _ = h.unpublishEphemeral(context.Background(), handle, target) })
			req := ephemeralPublish(handle, target, tc.attrs)
			if _, err := h.Node.NodePublishVolume(ctx, req); err != nil {
				t.Fatal(err)
			}
			assertFilesystemType(t, target, tc.wantFS)
			vol, err := h.pool.GetVolume(ctx, backend.NewVolumeID(handle))
			if err != nil {
				t.Fatal(err)
			}
			if vol.CapacityBytes != tc.wantBytes || vol.Name != handle {
				t.Errorf("backing volume has %d bytes and name %q, want %d bytes and name %q", vol.CapacityBytes, vol.Name, tc.wantBytes, handle)
			}
			file := filepath.Join(target, "data.bin")
			drivertest.WriteFile(t, file, drivertest.Pattern(7))

			if _, err := h.Node.NodePublishVolume(ctx, req); err != nil {
				t.Fatalf("repeated publish: %v", err)
			}
			drivertest.AssertFile(t, file, drivertest.Pattern(7))
			assertStats(t, h, handle, target)
			assertHiddenFromController(t, h, vol.ID)

			for i := range 2 {
				if err := h.unpublishEphemeral(ctx, handle, target); err != nil {
					t.Fatalf("unpublish #%d: %v", i+1, err)
				}
			}
			assertEphemeralGone(t, h, handle, target)
		})
	}
}

// assertFilesystemType checks the type of the filesystem mounted at path.
func assertFilesystemType(t *testing.T, path string, want int64) {
	t.Helper()
	var st unix.Statfs_t
	if err := unix.Statfs(path, &st); err != nil {
		t.Fatal(err)
	}
	if st.Type != want {
		t.Errorf("filesystem at %s has magic %#x, want %#x", path, st.Type, want)
	}
}

func assertStats(t *testing.T, h *harness, handle, target string) {
	t.Helper()
	resp, err := h.Node.NodeGetVolumeStats(t.Context(), &csi.NodeGetVolumeStatsRequest{VolumeId: handle, VolumePath: target})
	if err != nil {
		t.Fatalf("NodeGetVolumeStats: %v", err)
	}
	if used := resp.GetUsage()[0].GetUsed(); used < drivertest.PatternSize {
		t.Errorf("NodeGetVolumeStats reports %d bytes used, want at least the %d written", used, drivertest.PatternSize)
	}
}

// assertHiddenFromController checks that the controller service neither
// lists nor deletes the backing volume of an inline volume.
func assertHiddenFromController(t *testing.T, h *harness, id backend.VolumeID) {
	t.Helper()
	ctx := t.Context()
	list, err := h.Controller.ListVolumes(ctx, &csi.ListVolumesRequest{})
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range list.GetEntries() {
		if e.GetVolume().GetVolumeId() == string(id) {
			t.Errorf("ListVolumes lists the backing volume %s of an inline volume", id)
		}
	}
	if _, err := h.Controller.DeleteVolume(ctx, &csi.DeleteVolumeRequest{VolumeId: string(id)}); code(err) != codes.FailedPrecondition {
		t.Errorf("DeleteVolume of the backing volume: code %v, want FailedPrecondition", code(err))
	}
	if _, err := h.pool.GetVolume(ctx, id); err != nil {
		t.Errorf("backing volume after a refused DeleteVolume: %v", err)
	}
}

// assertEphemeralGone checks that nothing of an inline volume is left: no
// backing volume, no loop device, no target path.
func assertEphemeralGone(t *testing.T, h *harness, handle, target string) {
	t.Helper()
	ctx := t.Context()
	id := backend.NewVolumeID(handle)
	if _, err := h.pool.GetVolume(ctx, id); !errors.Is(err, backend.ErrNotFound) {
		t.Errorf("backing volume %s after unpublish: %v, want not found", id, err)
	}
	if device, err := h.pool.Device(ctx, id); err == nil {
		t.Errorf("backing volume %s is still attached as %s", id, device)
	}
	if _, err := os.Stat(target); !os.IsNotExist(err) {
		t.Errorf("target path after unpublish: %v, want it removed", err)
	}
}

func TestEphemeralPublishResumesAfterACrash(t *testing.T) {
	const size = 64 << 20
	for name, crash := range map[string]func(t *testing.T, h *harness, handle, target string){
		"after creating the volume": func(t *testing.T, h *harness, handle, _ string) {
			createBacking(t, h, handle, size)
		},
		"after attaching it": func(t *testing.T, h *harness, handle, _ string) {
			createBacking(t, h, handle, size)
			if _, err := h.pool.Attach(t.Context(), backend.NewVolumeID(handle)); err != nil {
				t.Fatal(err)
			}
		},
		"after mounting it": func(t *testing.T, h *harness, handle, target string) {
			if _, err := h.Node.NodePublishVolume(t.Context(), ephemeralPublish(handle, target, map[string]string{"size": "64Mi"})); err != nil {
				t.Fatal(err)
			}
		},
	} {
		for _, retry := range []string{"publish", "unpublish"} {
			t.Run(name+"/kubelet retries "+retry, func(t *testing.T) {
				crashed := startDriver(t, testpool.Ext4, testpool.Ext4)
				handle, target := ephemeralHandle("pod-2", "scratch"), filepath.Join(crashed.Dir, "target")
				t.Cleanup(func() { _ = crashed.unpublishEphemeral(context.Background(), handle, target) })
				crash(t, crashed, handle, target)

				h := serveWith(t, crashed.poolDir, driver.Options{DefaultFSType: testpool.Ext4, KubeletDir: crashed.Dir})
				if retry == "publish" {
					if _, err := h.Node.NodePublishVolume(t.Context(), ephemeralPublish(handle, target, map[string]string{"size": "64Mi"})); err != nil {
						t.Fatalf("retried publish: %v", err)
					}
					drivertest.WriteFile(t, filepath.Join(target, "data.bin"), drivertest.Pattern(8))
				}
				if err := h.unpublishEphemeral(t.Context(), handle, target); err != nil {
					t.Fatalf("unpublish: %v", err)
				}
				assertEphemeralGone(t, h, handle, target)
			})
		}
	}
}

// createBacking creates the backing volume as NodePublishVolume does, the
// first step of publishing an inline volume.
func createBacking(t *testing.T, h *harness, handle string, size int64) {
	t.Helper()
	_, err := h.pool.CreateVolume(t.Context(), backend.VolumeRequest{ID: backend.NewVolumeID(handle), Name: handle, CapacityBytes: size})
	if err != nil {
		t.Fatal(err)
	}
}

// TestFailedEphemeralPublishLeavesNothing pins down the roll-back: kubelet
// forgets an inline volume whose publish failed with a final error.
func TestFailedEphemeralPublishLeavesNothing(t *testing.T) {
	h := startDriver(t, testpool.Ext4, testpool.Ext4)
	handle, target := ephemeralHandle("pod-3", "scratch"), filepath.Join(h.Dir, "target")
	req := ephemeralPublish(handle, target, map[string]string{"size": "64Mi"})
	req.VolumeCapability = &csi.VolumeCapability{
		AccessType: &csi.VolumeCapability_Mount{Mount: &csi.VolumeCapability_MountVolume{MountFlags: []string{"no-such-mount-option"}}},
		AccessMode: drivertest.MountCapability.GetAccessMode(),
	}
	t.Cleanup(func() { _ = h.unpublishEphemeral(context.Background(), handle, target) })
	if _, err := h.Node.NodePublishVolume(t.Context(), req); code(err) != codes.Internal {
		t.Fatalf("publish with a bad mount option: code %v (%v), want Internal", code(err), err)
	}
	assertEphemeralGone(t, h, handle, target)
}

func TestEphemeralAttributesAreValidated(t *testing.T) {
	h := serve(t, t.TempDir(), testpool.Ext4)
	handle, target := ephemeralHandle("pod-4", "scratch"), filepath.Join(h.Dir, "target")
	block := &csi.VolumeCapability{
		AccessType: &csi.VolumeCapability_Block{Block: &csi.VolumeCapability_BlockVolume{}},
		AccessMode: drivertest.MountCapability.GetAccessMode(),
	}
	xfsCapability := &csi.VolumeCapability{
		AccessType: &csi.VolumeCapability_Mount{Mount: &csi.VolumeCapability_MountVolume{FsType: "xfs"}},
		AccessMode: drivertest.MountCapability.GetAccessMode(),
	}
	for name, tc := range map[string]struct {
		attrs  map[string]string
		change func(*csi.NodePublishVolumeRequest)
		want   codes.Code
		naming string
	}{
		"unknown attribute":                   {attrs: map[string]string{"sise": "1Gi"}, want: codes.InvalidArgument, naming: `"sise"`},
		"size that is no quantity":            {attrs: map[string]string{"size": "lots"}, want: codes.InvalidArgument, naming: "size"},
		"zero size":                           {attrs: map[string]string{"size": "0"}, want: codes.InvalidArgument, naming: "size"},
		"negative size":                       {attrs: map[string]string{"size": "-1Gi"}, want: codes.InvalidArgument, naming: "size"},
		"size beyond any disk":                {attrs: map[string]string{"size": "2Ei"}, want: codes.OutOfRange, naming: "size"},
		"more than the pool holds":            {attrs: map[string]string{"size": "1Ei"}, want: codes.ResourceExhausted},
		"unsupported fsType":                  {attrs: map[string]string{"fsType": "ntfs"}, want: codes.InvalidArgument, naming: "fsType"},
		"fsType contradicting the capability": {attrs: map[string]string{"fsType": "ext4"}, change: func(r *csi.NodePublishVolumeRequest) { r.VolumeCapability = xfsCapability }, want: codes.InvalidArgument, naming: "fs_type"},
		"block access":                        {change: func(r *csi.NodePublishVolumeRequest) { r.VolumeCapability = block }, want: codes.InvalidArgument, naming: "block"},
		"read-only":                           {change: func(r *csi.NodePublishVolumeRequest) { r.Readonly = true }, want: codes.InvalidArgument, naming: "readonly"},
		"persistent volume ID":                {change: func(r *csi.NodePublishVolumeRequest) { r.VolumeId = string(backend.NewVolumeID("x")) }, want: codes.InvalidArgument, naming: "volume_id"},
		"malformed handle":                    {change: func(r *csi.NodePublishVolumeRequest) { r.VolumeId = "csi-../../etc" }, want: codes.InvalidArgument, naming: "volume_id"},
		"relative target path":                {change: func(r *csi.NodePublishVolumeRequest) { r.TargetPath = "target" }, want: codes.InvalidArgument, naming: "target_path"},
	} {
		t.Run(name, func(t *testing.T) {
			req := ephemeralPublish(handle, target, tc.attrs)
			if tc.change != nil {
				req = proto.Clone(req).(*csi.NodePublishVolumeRequest)
				tc.change(req)
			}
			_, err := h.Node.NodePublishVolume(t.Context(), req)
			if code(err) != tc.want || !strings.Contains(err.Error(), tc.naming) {
				t.Fatalf("got %v, want %v naming %s", err, tc.want, tc.naming)
			}
			if vols, _ := h.pool.ListVolumes(t.Context()); len(vols) > 0 {
				t.Errorf("a refused publish created %v", vols)
			}
		})
	}
}

func TestEphemeralUnpublishDeletesOnlyItsOwnVolume(t *testing.T) {
	ctx := context.Background()
	h := serve(t, t.TempDir(), testpool.Ext4)
	target := filepath.Join(h.Dir, "target")
	if err := h.unpublishEphemeral(ctx, ephemeralHandle("pod-5", "never-published"), target); err != nil {
		t.Errorf("unpublish of an unknown inline volume: %v", err)
	}
	// A volume at the handle's ID that does not record the handle, which only
	// a hash collision could produce, is never deleted.
	handle := ephemeralHandle("pod-5", "scratch")
	id := backend.NewVolumeID(handle)
	if _, err := h.pool.CreateVolume(ctx, backend.VolumeRequest{ID: id, Name: "pvc-precious", CapacityBytes: 1 << 20}); err != nil {
		t.Fatal(err)
	}
	if err := h.unpublishEphemeral(ctx, handle, target); err != nil {
		t.Errorf("unpublish: %v", err)
	}
	if _, err := h.pool.GetVolume(ctx, id); err != nil {
		t.Errorf("unpublish of an inline volume deleted a persistent volume: %v", err)
	}
}

func TestInlineVolumeHandlesAreReservedNames(t *testing.T) {
	h := serve(t, t.TempDir(), testpool.Ext4)
	_, err := h.Controller.CreateVolume(t.Context(), &csi.CreateVolumeRequest{
		Name: ephemeralHandle("pod-6", "scratch"), VolumeCapabilities: []*csi.VolumeCapability{drivertest.MountCapability},
	})
	if code(err) != codes.InvalidArgument {
		t.Fatalf("CreateVolume named like an inline volume: code %v, want InvalidArgument", code(err))
	}
}
