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
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/container-storage-interface/spec/lib/go/csi"
	"golang.org/x/sys/unix"
	"google.golang.org/grpc/codes"

	"github.com/plinth-dev/plinth/csi-driver/backend"
	"github.com/plinth-dev/plinth/csi-driver/internal/drivertest"
	"github.com/plinth-dev/plinth/test/testpool"
)

// TestReadOnlyPublishIsReadOnlyWhereItPropagates: kubelet's directory is a
// shared mount into which plinth-node's container mounts with Bidirectional
// propagation, so that kubelet and the container runtime see a copy of each
// target. A read-only publish must be read-only in that copy too, not only
// where the driver mounted it.
func TestReadOnlyPublishIsReadOnlyWhereItPropagates(t *testing.T) {
	h := startDriver(t, testpool.Ext4, testpool.Ext4)
	m := h.MountNew(t, "vol", nil)
	drivertest.WriteFile(t, m.Path, drivertest.Pattern(7))
	kubelet, host := sharedPeers(t, h.Dir)

	target := filepath.Join(kubelet, "ro-target")
	req := &csi.NodePublishVolumeRequest{VolumeId: m.ID, StagingTargetPath: m.Staging, TargetPath: target, VolumeCapability: drivertest.MountCapability, Readonly: true}
	if _, err := h.Node.NodePublishVolume(t.Context(), req); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_, err := h.Node.NodeUnpublishVolume(context.Background(), &csi.NodeUnpublishVolumeRequest{VolumeId: m.ID, TargetPath: target})
		if err != nil {
			t.Error(err)
		}
	})
	for _, dir := range []string{target, filepath.Join(host, "ro-target")} {
		drivertest.AssertFile(t, filepath.Join(dir, "data.bin"), drivertest.Pattern(7))
		if err := os.WriteFile(filepath.Join(dir, "new"), nil, 0o600); !errors.Is(err, unix.EROFS) {
			t.Errorf("creating a file in %s: %v, want EROFS", dir, err)
		}
	}
}

// TestReadOnlyBlockPublishIsTheDevice: a read-only publish of a block
// volume bind-mounts the volume's device node at the target file.
func TestReadOnlyBlockPublishIsTheDevice(t *testing.T) {
	h := startDriver(t, testpool.Ext4, testpool.Ext4)
	block := &csi.VolumeCapability{
		AccessType: &csi.VolumeCapability_Block{Block: &csi.VolumeCapability_BlockVolume{}},
		AccessMode: drivertest.MountCapability.GetAccessMode(),
	}
	ctx := t.Context()
	resp, err := h.Controller.CreateVolume(ctx, &csi.CreateVolumeRequest{Name: "raw", CapacityRange: &csi.CapacityRange{RequiredBytes: drivertest.VolumeSize}, VolumeCapabilities: []*csi.VolumeCapability{block}})
	if err != nil {
		t.Fatal(err)
	}
	id, staging, target := resp.GetVolume().GetVolumeId(), filepath.Join(h.Dir, "raw-staging"), filepath.Join(h.Dir, "raw-target")
	t.Cleanup(func() {
		ctx := context.Background()
		_, err := h.Node.NodeUnpublishVolume(ctx, &csi.NodeUnpublishVolumeRequest{VolumeId: id, TargetPath: target})
		if err == nil {
			_, err = h.Node.NodeUnstageVolume(ctx, &csi.NodeUnstageVolumeRequest{VolumeId: id, StagingTargetPath: staging})
		}
		if err == nil {
			_, err = h.Controller.DeleteVolume(ctx, &csi.DeleteVolumeRequest{VolumeId: id})
		}
		if err != nil {
			t.Error(err)
		}
	})
	if _, err := h.Node.NodeStageVolume(ctx, &csi.NodeStageVolumeRequest{VolumeId: id, StagingTargetPath: staging, VolumeCapability: block}); err != nil {
		t.Fatal(err)
	}
	req := &csi.NodePublishVolumeRequest{VolumeId: id, StagingTargetPath: staging, TargetPath: target, VolumeCapability: block, Readonly: true}
	if _, err := h.Node.NodePublishVolume(ctx, req); err != nil {
		t.Fatal(err)
	}
	device, err := h.pool.Device(ctx, backend.VolumeID(id))
	if err != nil {
		t.Fatal(err)
	}
	var want, got unix.Stat_t
	if err := errors.Join(unix.Stat(device, &want), unix.Stat(target, &got)); err != nil {
		t.Fatal(err)
	}
	if got.Mode&unix.S_IFMT != unix.S_IFBLK || got.Rdev != want.Rdev {
		t.Errorf("the target is mode %o device %d, want the block device %d of %s", got.Mode, got.Rdev, want.Rdev, device)
	}
}

func TestRepublishingWithAnotherReadOnlySettingIsAlreadyExists(t *testing.T) {
	h := startDriver(t, testpool.Ext4, testpool.Ext4)
	m := h.MountNew(t, "vol", nil)
	req := &csi.NodePublishVolumeRequest{VolumeId: m.ID, StagingTargetPath: m.Staging, TargetPath: m.Target, VolumeCapability: drivertest.MountCapability}
	if _, err := h.Node.NodePublishVolume(t.Context(), req); err != nil {
		t.Fatalf("repeated identical publish: %v", err)
	}
	req.Readonly = true
	if _, err := h.Node.NodePublishVolume(t.Context(), req); code(err) != codes.AlreadyExists {
		t.Fatalf("publish read-only over read-write: code %v, want AlreadyExists", code(err))
	}
}

// sharedPeers returns two directories that are peers of one shared mount,
// as kubelet's directory in plinth-node's container and on the host are: a
// mount below one appears below the other. The first is made in parent.
func sharedPeers(t *testing.T, parent string) (dir, peer string) {
	t.Helper()
	dir, peer = filepath.Join(parent, "shared"), t.TempDir()
	if err := os.Mkdir(dir, 0o750); err != nil {
		t.Fatal(err)
	}
	steps := []struct {
		source, target string
		flags          uintptr
	}{{dir, dir, unix.MS_BIND}, {"", dir, unix.MS_SHARED}, {dir, peer, unix.MS_BIND}}
	for _, s := range steps {
		if err := unix.Mount(s.source, s.target, "", s.flags, ""); err != nil {
			t.Fatalf("failed to set up shared mounts: %v", err)
		}
	}
	t.Cleanup(func() {
		for _, d := range []string{peer, dir} {
			if err := unix.Unmount(d, unix.MNT_DETACH); err != nil {
				t.Errorf("failed to unmount %s: %v", d, err)
			}
		}
	})
	return dir, peer
}
