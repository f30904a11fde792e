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
	"path/filepath"
	"testing"

	"github.com/container-storage-interface/spec/lib/go/csi"
	"golang.org/x/sys/unix"
	"google.golang.org/grpc/codes"

	"github.com/plinth-dev/plinth/csi-driver/backend/pool"
	"github.com/plinth-dev/plinth/csi-driver/driver"
	"github.com/plinth-dev/plinth/csi-driver/internal/drivertest"
	"github.com/plinth-dev/plinth/test/testpool"
)

// mountWith is a filesystem capability with mount flags.
func mountWith(flags ...string) *csi.VolumeCapability {
	return &csi.VolumeCapability{
		AccessType: &csi.VolumeCapability_Mount{Mount: &csi.VolumeCapability_MountVolume{MountFlags: flags}},
		AccessMode: drivertest.MountCapability.GetAccessMode(),
	}
}

// mountFlags returns the statfs flags of the mount at path.
func mountFlags(t *testing.T, path string) int64 {
	t.Helper()
	var st unix.Statfs_t
	if err := unix.Statfs(path, &st); err != nil {
		t.Fatal(err)
	}
	return st.Flags
}

// TestVolumesAreMountedNosuidNodev: staged, published and inline volumes
// are nosuid,nodev; a class with allowSuidAndDevices: "true", whose volumes
// carry it in their volume context, opts out.
func TestVolumesAreMountedNosuidNodev(t *testing.T) {
	h := startDriver(t, testpool.Ext4, testpool.Ext4)
	ctx := t.Context()
	m := h.MountNew(t, "default", nil)
	handle, inline := ephemeralHandle("pod", "scratch"), filepath.Join(h.Dir, "inline")
	if _, err := h.Node.NodePublishVolume(ctx, ephemeralPublish(handle, inline, map[string]string{"size": "16Mi"})); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = h.unpublishEphemeral(ctx, handle, inline) })
	for _, path := range []string{m.Staging, m.Target, inline} {
		if f := mountFlags(t, path); f&unix.ST_NOSUID == 0 || f&unix.ST_NODEV == 0 {
			t.Errorf("%s is mounted with flags %#x, want nosuid and nodev", path, f)
		}
	}

	params := map[string]string{driver.ParamAllowSuidAndDevices: "true"}
	resp, err := h.Controller.CreateVolume(ctx, &csi.CreateVolumeRequest{Name: "suid", Parameters: params,
		VolumeCapabilities: []*csi.VolumeCapability{mountWith("suid", "dev")}})
	if err != nil {
		t.Fatalf("CreateVolume of a class that allows suid and devices: %v", err)
	}
	vol := resp.GetVolume()
	if vol.GetVolumeContext()[driver.ParamAllowSuidAndDevices] != "true" {
		t.Fatalf("volume context %v does not carry %s", vol.GetVolumeContext(), driver.ParamAllowSuidAndDevices)
	}
	staging := filepath.Join(h.Dir, "suid-staging")
	if _, err := h.Node.NodeStageVolume(ctx, &csi.NodeStageVolumeRequest{VolumeId: vol.GetVolumeId(), StagingTargetPath: staging,
		VolumeCapability: drivertest.MountCapability, VolumeContext: vol.GetVolumeContext()}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_, _ = h.Node.NodeUnstageVolume(ctx, &csi.NodeUnstageVolumeRequest{VolumeId: vol.GetVolumeId(), StagingTargetPath: staging})
	})
	if f := mountFlags(t, staging); f&(unix.ST_NOSUID|unix.ST_NODEV) != 0 {
		t.Errorf("a volume of a class that allows suid and devices is mounted with flags %#x", f)
	}
}

// TestMountOptionsThatEndangerTheNodeAreRefused: errors=panic (alone or
// smuggled in a comma-separated flag), suid and dev are InvalidArgument at
// CreateVolume, NodeStageVolume and an inline publish, and not confirmed
// by ValidateVolumeCapabilities, unless the admin allows them.
func TestMountOptionsThatEndangerTheNodeAreRefused(t *testing.T) {
	h := startDriver(t, testpool.Ext4, testpool.Ext4)
	ctx := t.Context()
	m := h.MountNew(t, "vol", nil)
	for _, flags := range [][]string{{"errors=panic"}, {"noatime,errors=panic"}, {"suid"}, {"dev"}, {"fatal_errors=panic"}} {
		c := mountWith(flags...)
		t.Run(flags[0], func(t *testing.T) {
			_, err := h.Controller.CreateVolume(ctx, &csi.CreateVolumeRequest{Name: "bad", VolumeCapabilities: []*csi.VolumeCapability{c}})
			if code(err) != codes.InvalidArgument {
				t.Errorf("CreateVolume: %v, want InvalidArgument", err)
			}
			_, err = h.Node.NodeStageVolume(ctx, &csi.NodeStageVolumeRequest{VolumeId: m.ID, StagingTargetPath: filepath.Join(h.Dir, "bad"), VolumeCapability: c})
			if code(err) != codes.InvalidArgument {
				t.Errorf("NodeStageVolume: %v, want InvalidArgument", err)
			}
			req := ephemeralPublish(ephemeralHandle("pod", "bad"), filepath.Join(h.Dir, "bad-inline"), nil)
			req.VolumeCapability = c
			if _, err := h.Node.NodePublishVolume(ctx, req); code(err) != codes.InvalidArgument {
				t.Errorf("inline NodePublishVolume: %v, want InvalidArgument", err)
			}
			resp, err := h.Controller.ValidateVolumeCapabilities(ctx, &csi.ValidateVolumeCapabilitiesRequest{VolumeId: m.ID, VolumeCapabilities: []*csi.VolumeCapability{c}})
			if err != nil || resp.GetConfirmed() != nil {
				t.Errorf("ValidateVolumeCapabilities: %v, %v, want not confirmed", resp, err)
			}
		})
	}

	allowed := servePool(t, testpool.Ext4, 1<<30, pool.Options{}, driver.Options{AllowedMountOptions: []string{"errors=panic"}})
	_, err := allowed.Controller.CreateVolume(ctx, &csi.CreateVolumeRequest{Name: "panics", CapacityRange: &csi.CapacityRange{RequiredBytes: 64 << 20}, VolumeCapabilities: []*csi.VolumeCapability{mountWith("errors=panic")}})
	if err != nil {
		t.Errorf("CreateVolume with errors=panic on a node that allows it: %v", err)
	}
	if _, err := driver.New(driver.Options{NodeID: "n", Backend: allowed.pool, AllowedMountOptions: []string{"errors=remount-ro"}}); err == nil {
		t.Error("driver.New allowed a mount option it does not refuse, want an error for the typo")
	}
}
