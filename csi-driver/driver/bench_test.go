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
	"fmt"
	"path/filepath"
	"testing"

	"github.com/container-storage-interface/spec/lib/go/csi"

	"github.com/plinth-dev/plinth/test/testpool"
)

// BenchmarkCreateStagePublish measures what a pod start waits for on a new
// 1 GiB filesystem volume: CreateVolume, NodeStageVolume (mkfs and mount)
// and NodePublishVolume, for ext4 and xfs volumes on an XFS pool. Tearing
// the volume down again is not timed.
func BenchmarkCreateStagePublish(b *testing.B) {
	h := startDriver(b, testpool.XFS, testpool.Ext4)
	for _, fs := range []string{testpool.Ext4, testpool.XFS} {
		b.Run(fs, func(b *testing.B) {
			capability := &csi.VolumeCapability{
				AccessType: &csi.VolumeCapability_Mount{Mount: &csi.VolumeCapability_MountVolume{FsType: fs}},
				AccessMode: &csi.VolumeCapability_AccessMode{Mode: csi.VolumeCapability_AccessMode_SINGLE_NODE_WRITER},
			}
			for i := range b.N {
				name := fmt.Sprintf("bench-%s-%d", fs, i)
				staging, target := filepath.Join(h.Dir, name+"-staging"), filepath.Join(h.Dir, name+"-target")
				id := h.createStagePublish(b, name, staging, target, capability)
				b.StopTimer()
				h.unpublishUnstageDelete(b, id, staging, target)
				b.StartTimer()
			}
		})
	}
}

func (h *harness) createStagePublish(b *testing.B, name, staging, target string, capability *csi.VolumeCapability) string {
	ctx := context.Background()
	resp, err := h.Controller.CreateVolume(ctx, &csi.CreateVolumeRequest{
		Name: name, CapacityRange: &csi.CapacityRange{RequiredBytes: 1 << 30}, VolumeCapabilities: []*csi.VolumeCapability{capability},
	})
	if err != nil {
		b.Fatal(err)
	}
	id := resp.GetVolume().GetVolumeId()
	if _, err := h.Node.NodeStageVolume(ctx, &csi.NodeStageVolumeRequest{VolumeId: id, StagingTargetPath: staging, VolumeCapability: capability}); err != nil {
		b.Fatal(err)
	}
	if _, err := h.Node.NodePublishVolume(ctx, &csi.NodePublishVolumeRequest{VolumeId: id, StagingTargetPath: staging, TargetPath: target, VolumeCapability: capability}); err != nil {
		b.Fatal(err)
	}
	return id
}

func (h *harness) unpublishUnstageDelete(b *testing.B, id, staging, target string) {
	ctx := context.Background()
	if _, err := h.Node.NodeUnpublishVolume(ctx, &csi.NodeUnpublishVolumeRequest{VolumeId: id, TargetPath: target}); err != nil {
		b.Fatal(err)
	}
	if _, err := h.Node.NodeUnstageVolume(ctx, &csi.NodeUnstageVolumeRequest{VolumeId: id, StagingTargetPath: staging}); err != nil {
		b.Fatal(err)
	}
	if _, err := h.Controller.DeleteVolume(ctx, &csi.DeleteVolumeRequest{VolumeId: id}); err != nil {
		b.Fatal(err)
	}
}
