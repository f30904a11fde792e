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
	"slices"
	"testing"

	"github.com/container-storage-interface/spec/lib/go/csi"
	"google.golang.org/grpc/codes"

	"github.com/plinth-dev/plinth/csi-driver/backend"
	"github.com/plinth-dev/plinth/csi-driver/backend/pool/pooltest"
	"github.com/plinth-dev/plinth/csi-driver/internal/drivertest"
	"github.com/plinth-dev/plinth/test/testpool"
)

// TestVolumeAttachedBeforeARestartKeepsItsDevice plays a volume's life across
// a restart of the plinth-node container: the old container attached it in
// its own mount namespace, where the pool had another path. The new one
// stages it on the same device, refuses to delete it while it is mounted,
// expands it online, unstages it, which detaches the device, and deletes it.
func TestVolumeAttachedBeforeARestartKeepsItsDevice(t *testing.T) {
	ctx := t.Context()
	h := startDriver(t, testpool.XFS, testpool.XFS)
	resp, err := h.Controller.CreateVolume(ctx, &csi.CreateVolumeRequest{
		Name:               "restarted",
		CapacityRange:      &csi.CapacityRange{RequiredBytes: drivertest.VolumeSize},
		VolumeCapabilities: []*csi.VolumeCapability{drivertest.MountCapability},
	})
	if err != nil {
		t.Fatal(err)
	}
	m := drivertest.Mounted{ID: resp.GetVolume().GetVolumeId(), Staging: filepath.Join(h.Dir, "staging"), Target: filepath.Join(h.Dir, "target")}
	m.Path = filepath.Join(m.Target, "data.bin")
	a := pooltest.AttachElsewhere(t, h.poolDir, backend.VolumeID(m.ID))
	t.Cleanup(func() { h.Teardown(t, m) })

	h.StageAndPublish(t, m)
	if got := a.Devices(t); !slices.Equal(got, []string{a.Device}) {
		t.Fatalf("after NodeStageVolume the volume's file backs %v, want only %s", got, a.Device)
	}
	data := drivertest.Pattern(9)
	drivertest.WriteFile(t, m.Path, data)

	if _, err := h.Controller.DeleteVolume(ctx, &csi.DeleteVolumeRequest{VolumeId: m.ID}); code(err) != codes.FailedPrecondition {
		t.Fatalf("DeleteVolume of a staged volume: code %v, want FailedPrecondition", code(err))
	}
	h.ExpandController(t, m, 2*drivertest.VolumeSize)
	if err := h.ExpandNode(t, m); err != nil {
		t.Fatalf("NodeExpandVolume: %v", err)
	}
	drivertest.AssertFilesystemSize(t, m.Path, 2*drivertest.VolumeSize)
	drivertest.AssertFile(t, m.Path, data)

	h.UnpublishAndUnstage(t, m)
	if got := a.Devices(t); len(got) > 0 {
		t.Fatalf("NodeUnstageVolume left the volume attached as %v", got)
	}
	if _, err := h.Controller.DeleteVolume(ctx, &csi.DeleteVolumeRequest{VolumeId: m.ID}); err != nil {
		t.Fatalf("DeleteVolume: %v", err)
	}
}
