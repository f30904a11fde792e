package driver_test

import (
	"path/filepath"
	"slices"
	"testing"

	"github.com/container-storage-interface/spec/lib/go/csi"
	"google.golang.org/grpc/codes"

	"github.com/plinth-dev/plinth/csi-driver/backend"
	"github.com/plinth-dev/plinth/csi-driver/backend/pool/pooltest"
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
	resp, err := h.ctrl.CreateVolume(ctx, &csi.CreateVolumeRequest{
		Name:               "restarted",
		CapacityRange:      &csi.CapacityRange{RequiredBytes: volumeSize},
		VolumeCapabilities: []*csi.VolumeCapability{mountCapability},
	})
	if err != nil {
		t.Fatal(err)
	}
	m := mounted{id: resp.GetVolume().GetVolumeId(), staging: filepath.Join(h.dir, "staging"), target: filepath.Join(h.dir, "target")}
	m.path = filepath.Join(m.target, "data.bin")
	a := pooltest.AttachElsewhere(t, h.poolDir, backend.VolumeID(m.id))
	t.Cleanup(func() { h.teardown(t, m) })

	h.stageAndPublish(t, m)
	if got := a.Devices(t); !slices.Equal(got, []string{a.Device}) {
		t.Fatalf("after NodeStageVolume the volume's file backs %v, want only %s", got, a.Device)
	}
	data := pattern(9)
	writeFile(t, m.path, data)

	if _, err := h.ctrl.DeleteVolume(ctx, &csi.DeleteVolumeRequest{VolumeId: m.id}); code(err) != codes.FailedPrecondition {
		t.Fatalf("DeleteVolume of a staged volume: code %v, want FailedPrecondition", code(err))
	}
	h.expandController(t, m, 2*volumeSize)
	if err := h.expandNode(t, m); err != nil {
		t.Fatalf("NodeExpandVolume: %v", err)
	}
	assertFilesystemSize(t, m.path, 2*volumeSize)
	assertFile(t, m.path, data)

	h.unpublishAndUnstage(t, m)
	if got := a.Devices(t); len(got) > 0 {
		t.Fatalf("NodeUnstageVolume left the volume attached as %v", got)
	}
	if _, err := h.ctrl.DeleteVolume(ctx, &csi.DeleteVolumeRequest{VolumeId: m.id}); err != nil {
		t.Fatalf("DeleteVolume: %v", err)
	}
}
