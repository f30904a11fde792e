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

package drivertest

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/container-storage-interface/spec/lib/go/csi"
)

// VolumeSize is the size of the volumes MountNew creates.
const VolumeSize = 512 << 20

// MountCapability is a single-node writer filesystem, in the driver's
// default filesystem.
var MountCapability = &csi.VolumeCapability{
	AccessType: &csi.VolumeCapability_Mount{Mount: &csi.VolumeCapability_MountVolume{}},
	AccessMode: &csi.VolumeCapability_AccessMode{Mode: csi.VolumeCapability_AccessMode_SINGLE_NODE_WRITER},
}

// Mounted is a filesystem volume staged and published through the driver.
type Mounted struct {
	ID, Staging, Target string
	// Path is the test's data file inside Target.
	Path string
}

// newMounted names the staging and target paths of volume id in d.Dir
// after name.
func (d *Driver) newMounted(id, name string) Mounted {
	m := Mounted{ID: id, Staging: filepath.Join(d.Dir, name+"-staging"), Target: filepath.Join(d.Dir, name+"-target")}
	m.Path = filepath.Join(m.Target, "data.bin")
	return m
}

// MountNew creates a filesystem volume of VolumeSize from source (nil for
// none), stages and publishes it, and unpublishes, unstages and deletes it
// when the test ends.
func (d *Driver) MountNew(tb testing.TB, name string, source *csi.VolumeContentSource) Mounted {
	tb.Helper()
	resp, err := d.Controller.CreateVolume(tb.Context(), &csi.CreateVolumeRequest{
		Name:                name,
		CapacityRange:       &csi.CapacityRange{RequiredBytes: VolumeSize},
		VolumeCapabilities:  []*csi.VolumeCapability{MountCapability},
		VolumeContentSource: source,
	})
	if err != nil {
		tb.Fatal(err)
	}
	m := d.newMounted(resp.GetVolume().GetVolumeId(), name)
	tb.Cleanup(func() { d.Teardown(tb, m) })
	d.StageAndPublish(tb, m)
	return m
}

// StageAndPublish stages and publishes the filesystem volume m.
func (d *Driver) StageAndPublish(tb testing.TB, m Mounted) {
	tb.Helper()
	ctx := tb.Context()
	if _, err := d.Node.NodeStageVolume(ctx, &csi.NodeStageVolumeRequest{VolumeId: m.ID, StagingTargetPath: m.Staging, VolumeCapability: MountCapability}); err != nil {
		tb.Fatal(err)
	}
	req := &csi.NodePublishVolumeRequest{VolumeId: m.ID, StagingTargetPath: m.Staging, TargetPath: m.Target, VolumeCapability: MountCapability}
	if _, err := d.Node.NodePublishVolume(ctx, req); err != nil {
		tb.Fatal(err)
	}
}

// UnpublishAndUnstage reverses StageAndPublish.
func (d *Driver) UnpublishAndUnstage(tb testing.TB, m Mounted) {
	tb.Helper()
	if err := d.unmountVolume(tb.Context(), m); err != nil {
		tb.Fatal(err)
	}
}

func (d *Driver) unmountVolume(ctx context.Context, m Mounted) error {
	if _, err := d.Node.NodeUnpublishVolume(ctx, &csi.NodeUnpublishVolumeRequest{VolumeId: m.ID, TargetPath: m.Target}); err != nil {
		return fmt.Errorf("NodeUnpublishVolume of %s: %w", m.ID, err)
	}
	if _, err := d.Node.NodeUnstageVolume(ctx, &csi.NodeUnstageVolumeRequest{VolumeId: m.ID, StagingTargetPath: m.Staging}); err != nil {
		return fmt.Errorf("NodeUnstageVolume of %s: %w", m.ID, err)
	}
	return nil
}

// Teardown unpublishes, unstages and deletes m, reporting failures as test
// errors.
func (d *Driver) Teardown(tb testing.TB, m Mounted) {
	ctx := context.Background()
	if err := d.unmountVolume(ctx, m); err != nil {
		tb.Error(err)
	}
	if _, err := d.Controller.DeleteVolume(ctx, &csi.DeleteVolumeRequest{VolumeId: m.ID}); err != nil {
		tb.Error(err)
	}
}

// Snapshot cuts snapshot name of volumeID, deletes it when the test ends and
// returns its ID.
func (d *Driver) Snapshot(tb testing.TB, name, volumeID string) string {
	tb.Helper()
	resp, err := d.Controller.CreateSnapshot(tb.Context(), &csi.CreateSnapshotRequest{Name: name, SourceVolumeId: volumeID})
	if err != nil {
		tb.Fatal(err)
	}
	id := resp.GetSnapshot().GetSnapshotId()
	tb.Cleanup(func() {
		if _, err := d.Controller.DeleteSnapshot(context.Background(), &csi.DeleteSnapshotRequest{SnapshotId: id}); err != nil {
			tb.Error(err)
		}
	})
	return id
}

// ExpandController grows volume m to size in the controller, which must ask
// for node expansion of a filesystem volume.
func (d *Driver) ExpandController(tb testing.TB, m Mounted, size int64) {
	tb.Helper()
	resp, err := d.Controller.ControllerExpandVolume(tb.Context(), &csi.ControllerExpandVolumeRequest{
		VolumeId: m.ID, CapacityRange: &csi.CapacityRange{RequiredBytes: size}, VolumeCapability: MountCapability,
	})
	if err != nil {
		tb.Fatal(err)
	}
	if !resp.GetNodeExpansionRequired() {
		tb.Error("a filesystem volume must ask for node expansion")
	}
}

// ExpandNode asks the node to grow the filesystem of the published volume m.
func (d *Driver) ExpandNode(tb testing.TB, m Mounted) error {
	tb.Helper()
	_, err := d.Node.NodeExpandVolume(tb.Context(), &csi.NodeExpandVolumeRequest{
		VolumeId: m.ID, VolumePath: m.Target, StagingTargetPath: m.Staging, VolumeCapability: MountCapability,
	})
	if err != nil {
		return fmt.Errorf("NodeExpandVolume of %s: %w", m.ID, err)
	}
	return nil
}

// SnapshotSource is the content source of a volume restored from snapshot id.
func SnapshotSource(id string) *csi.VolumeContentSource {
	return &csi.VolumeContentSource{Type: &csi.VolumeContentSource_Snapshot{Snapshot: &csi.VolumeContentSource_SnapshotSource{SnapshotId: id}}}
}

// VolumeSource is the content source of a clone of volume id.
func VolumeSource(id string) *csi.VolumeContentSource {
	return &csi.VolumeContentSource{Type: &csi.VolumeContentSource_Volume{Volume: &csi.VolumeContentSource_VolumeSource{VolumeId: id}}}
}
