package driver_test

import (
	"bytes"
	"context"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/container-storage-interface/spec/lib/go/csi"
	"golang.org/x/sys/unix"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/plinth-dev/plinth/test/testpool"
)

const (
	volumeSize  = 512 << 20
	patternSize = 16 << 20
)

// TestDataSurvivesSnapshotRestoreAndClone writes known data into a mounted
// volume, snapshots it (frozen, while mounted), overwrites it, and checks
// that a restore of the snapshot holds the old data and a clone the new.
func TestDataSurvivesSnapshotRestoreAndClone(t *testing.T) {
	for _, fs := range []string{testpool.XFS, testpool.Ext4} {
		t.Run(fs, func(t *testing.T) {
			h := startDriver(t, fs, fs)
			src := h.mountNew(t, "src", nil)
			a, b := pattern(1), pattern(2)
			writeFile(t, src.path, a)

			snap := h.snapshot(t, "snap-a", src.id)
			writeFile(t, src.path, b)
			restored := h.mountNew(t, "restored", snapshotSource(snap))
			assertFile(t, restored.path, a)

			clone := h.mountNew(t, "clone", volumeSource(src.id))
			assertFile(t, clone.path, b)
		})
	}
}

// TestSnapshotOfAMountedVolumeHoldsUnsyncedWrites shows the freeze at work:
// data an application wrote but never fsynced sits in the page cache, and
// only a filesystem freeze flushes it into the backing file before the copy.
func TestSnapshotOfAMountedVolumeHoldsUnsyncedWrites(t *testing.T) {
	for _, fs := range []string{testpool.XFS, testpool.Ext4} {
		t.Run(fs, func(t *testing.T) {
			h := startDriver(t, fs, fs)
			src := h.mountNew(t, "src", nil)
			data := pattern(4)
			if err := os.WriteFile(src.path, data, 0o600); err != nil {
				t.Fatal(err)
			}
			snap := h.snapshot(t, "unsynced", src.id)
			restored := h.mountNew(t, "restored", snapshotSource(snap))
			assertFile(t, restored.path, data)
		})
	}
}

// TestDataSurvivesOnlineExpansion grows a mounted volume and checks that the
// filesystem grew, the data is intact, and a snapshot taken afterwards
// restores it. XFS grows online with the capabilities every mounting driver
// has; ext4 only with CAP_SYS_RESOURCE, see testExt4OnlineExpansion.
func TestDataSurvivesOnlineExpansion(t *testing.T) {
	for _, fs := range []string{testpool.XFS, testpool.Ext4} {
		t.Run(fs, func(t *testing.T) {
			h := startDriver(t, fs, fs)
			src := h.mountNew(t, "src", nil)
			data := pattern(3)
			writeFile(t, src.path, data)

			h.expandController(t, src, 2*volumeSize)
			if fs == testpool.Ext4 {
				testExt4OnlineExpansion(t, h, src, hasCapability(unix.CAP_SYS_RESOURCE))
			} else if err := h.expandNode(t, src); err != nil {
				t.Fatal(err)
			}
			assertFilesystemSize(t, src.path, 2*volumeSize)
			assertFile(t, src.path, data)
			snap := h.snapshot(t, "snap-after-expansion", src.id)
			restored := h.mountNew(t, "restored", snapshotSource(snap))
			assertFile(t, restored.path, data)
			assertFilesystemSize(t, restored.path, 2*volumeSize)
		})
	}
}

// testExt4OnlineExpansion asks the node to grow the mounted ext4 volume m.
// With CAP_SYS_RESOURCE the filesystem grows in place. Without it the kernel
// refuses, so the driver must answer FailedPrecondition naming the cause and
// leave the filesystem working at its old size; the next stage grows it.
func testExt4OnlineExpansion(t *testing.T, h *harness, m mounted, canResize bool) {
	t.Helper()
	err := h.expandNode(t, m)
	if canResize {
		if err != nil {
			t.Fatalf("online ext4 growth with CAP_SYS_RESOURCE: %v", err)
		}
		return
	}
	if code(err) != codes.FailedPrecondition || !strings.Contains(status.Convert(err).Message(), "CAP_SYS_RESOURCE") {
		t.Fatalf("online ext4 growth without CAP_SYS_RESOURCE: got %v, want FailedPrecondition naming CAP_SYS_RESOURCE", err)
	}
	if got := filesystemSize(t, m.path); got > volumeSize {
		t.Fatalf("filesystem has %d bytes after a refused growth, want at most %d", got, volumeSize)
	}
	other := filepath.Join(m.target, "after-refusal.bin")
	writeFile(t, other, pattern(6))
	assertFile(t, other, pattern(6))

	h.unpublishAndUnstage(t, m)
	h.stageAndPublish(t, m)
	if err := h.expandNode(t, m); err != nil {
		t.Fatalf("NodeExpandVolume after the stage grew the filesystem: %v", err)
	}
	assertFile(t, other, pattern(6))
}

// TestDataSurvivesOfflineExpansion expands an unstaged volume and checks
// that the next stage grows the filesystem, the data is intact, and a
// snapshot taken afterwards restores it. ext4 grows before the mount, XFS
// right after it; neither needs CAP_SYS_RESOURCE.
func TestDataSurvivesOfflineExpansion(t *testing.T) {
	for _, fs := range []string{testpool.XFS, testpool.Ext4} {
		t.Run(fs, func(t *testing.T) {
			h := startDriver(t, fs, fs)
			src := h.mountNew(t, "src", nil)
			data := pattern(5)
			writeFile(t, src.path, data)

			h.unpublishAndUnstage(t, src)
			h.expandController(t, src, 2*volumeSize)
			h.stageAndPublish(t, src)
			assertFilesystemSize(t, src.path, 2*volumeSize)
			assertFile(t, src.path, data)
			// Kubelet still calls NodeExpandVolume, which finds nothing to do.
			if err := h.expandNode(t, src); err != nil {
				t.Fatalf("NodeExpandVolume after the stage grew the filesystem: %v", err)
			}
			snap := h.snapshot(t, "snap-after-expansion", src.id)
			restored := h.mountNew(t, "restored", snapshotSource(snap))
			assertFile(t, restored.path, data)
			assertFilesystemSize(t, restored.path, 2*volumeSize)
		})
	}
}

// hasCapability reports whether the process has capability c in its effective set.
func hasCapability(c int) bool {
	hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
	var data [2]unix.CapUserData
	if err := unix.Capget(&hdr, &data[0]); err != nil {
		return false
	}
	return data[c/32].Effective&(1<<(uint(c)%32)) != 0
}

// mounted is a volume staged and published by the harness.
type mounted struct {
	id, staging, target string
	path                string // the test file inside the target
}

// mountNew creates, stages and publishes a filesystem volume and registers
// the reverse for cleanup.
func (h *harness) mountNew(t *testing.T, name string, source *csi.VolumeContentSource) mounted {
	t.Helper()
	resp, err := h.ctrl.CreateVolume(t.Context(), &csi.CreateVolumeRequest{
		Name:                name,
		CapacityRange:       &csi.CapacityRange{RequiredBytes: volumeSize},
		VolumeCapabilities:  []*csi.VolumeCapability{mountCapability},
		VolumeContentSource: source,
	})
	if err != nil {
		t.Fatal(err)
	}
	m := mounted{id: resp.GetVolume().GetVolumeId(), staging: filepath.Join(h.dir, name+"-staging"), target: filepath.Join(h.dir, name+"-target")}
	m.path = filepath.Join(m.target, "data.bin")
	t.Cleanup(func() { h.teardown(t, m) })
	h.stageAndPublish(t, m)
	return m
}

// stageAndPublish stages and publishes the filesystem volume m.
func (h *harness) stageAndPublish(t *testing.T, m mounted) {
	t.Helper()
	ctx := t.Context()
	if _, err := h.node.NodeStageVolume(ctx, &csi.NodeStageVolumeRequest{VolumeId: m.id, StagingTargetPath: m.staging, VolumeCapability: mountCapability}); err != nil {
		t.Fatal(err)
	}
	if _, err := h.node.NodePublishVolume(ctx, &csi.NodePublishVolumeRequest{VolumeId: m.id, StagingTargetPath: m.staging, TargetPath: m.target, VolumeCapability: mountCapability}); err != nil {
		t.Fatal(err)
	}
}

// unpublishAndUnstage reverses stageAndPublish.
func (h *harness) unpublishAndUnstage(t *testing.T, m mounted) {
	t.Helper()
	if err := h.unmountVolume(t.Context(), m); err != nil {
		t.Fatal(err)
	}
}

func (h *harness) unmountVolume(ctx context.Context, m mounted) error {
	if _, err := h.node.NodeUnpublishVolume(ctx, &csi.NodeUnpublishVolumeRequest{VolumeId: m.id, TargetPath: m.target}); err != nil {
		return err
	}
	_, err := h.node.NodeUnstageVolume(ctx, &csi.NodeUnstageVolumeRequest{VolumeId: m.id, StagingTargetPath: m.staging})
	return err
}

func (h *harness) teardown(t *testing.T, m mounted) {
	ctx := context.Background()
	if err := h.unmountVolume(ctx, m); err != nil {
		t.Error(err)
	}
	if _, err := h.ctrl.DeleteVolume(ctx, &csi.DeleteVolumeRequest{VolumeId: m.id}); err != nil {
		t.Error(err)
	}
}

func (h *harness) snapshot(t *testing.T, name, volumeID string) string {
	t.Helper()
	ctx := t.Context()
	resp, err := h.ctrl.CreateSnapshot(ctx, &csi.CreateSnapshotRequest{Name: name, SourceVolumeId: volumeID})
	if err != nil {
		t.Fatal(err)
	}
	id := resp.GetSnapshot().GetSnapshotId()
	t.Cleanup(func() {
		if _, err := h.ctrl.DeleteSnapshot(context.Background(), &csi.DeleteSnapshotRequest{SnapshotId: id}); err != nil {
			t.Error(err)
		}
	})
	return id
}

// expandController grows volume m to size in the controller, which must ask
// for node expansion of a filesystem volume.
func (h *harness) expandController(t *testing.T, m mounted, size int64) {
	t.Helper()
	resp, err := h.ctrl.ControllerExpandVolume(t.Context(), &csi.ControllerExpandVolumeRequest{
		VolumeId: m.id, CapacityRange: &csi.CapacityRange{RequiredBytes: size}, VolumeCapability: mountCapability,
	})
	if err != nil {
		t.Fatal(err)
	}
	if !resp.GetNodeExpansionRequired() {
		t.Error("a filesystem volume must ask for node expansion")
	}
}

// expandNode asks the node to grow the filesystem of the published volume m.
func (h *harness) expandNode(t *testing.T, m mounted) error {
	t.Helper()
	_, err := h.node.NodeExpandVolume(t.Context(), &csi.NodeExpandVolumeRequest{
		VolumeId: m.id, VolumePath: m.target, StagingTargetPath: m.staging, VolumeCapability: mountCapability,
	})
	return err
}

func snapshotSource(id string) *csi.VolumeContentSource {
	return &csi.VolumeContentSource{Type: &csi.VolumeContentSource_Snapshot{Snapshot: &csi.VolumeContentSource_SnapshotSource{SnapshotId: id}}}
}

func volumeSource(id string) *csi.VolumeContentSource {
	return &csi.VolumeContentSource{Type: &csi.VolumeContentSource_Volume{Volume: &csi.VolumeContentSource_VolumeSource{VolumeId: id}}}
}

func pattern(seed uint64) []byte {
	r := rand.New(rand.NewPCG(seed, seed))
	b := make([]byte, patternSize)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

// writeFile writes data and fsyncs it, as an application would.
func writeFile(t *testing.T, path string, data []byte) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.Write(data); err != nil {
		t.Fatal(err)
	}
	if err := f.Sync(); err != nil {
		t.Fatal(err)
	}
}

func assertFile(t *testing.T, path string, want []byte) {
	t.Helper()
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("%s does not hold the expected data", path)
	}
}

// assertFilesystemSize checks that the filesystem holding path grew to
// nearly size (the filesystem's own metadata takes the rest).
func assertFilesystemSize(t *testing.T, path string, size int64) {
	t.Helper()
	if got := filesystemSize(t, path); got < size*9/10 {
		t.Errorf("filesystem has %d bytes after expansion to %d", got, size)
	}
}

// filesystemSize returns the size of the filesystem holding path.
func filesystemSize(t *testing.T, path string) int64 {
	t.Helper()
	var st unix.Statfs_t
	if err := unix.Statfs(filepath.Dir(path), &st); err != nil {
		t.Fatal(err)
	}
	return int64(st.Blocks) * st.Bsize
}

func TestRepublishingWithAnotherReadOnlySettingIsAlreadyExists(t *testing.T) {
	h := startDriver(t, testpool.Ext4, testpool.Ext4)
	m := h.mountNew(t, "vol", nil)
	req := &csi.NodePublishVolumeRequest{VolumeId: m.id, StagingTargetPath: m.staging, TargetPath: m.target, VolumeCapability: mountCapability}
	if _, err := h.node.NodePublishVolume(t.Context(), req); err != nil {
		t.Fatalf("repeated identical publish: %v", err)
	}
	req.Readonly = true
	if _, err := h.node.NodePublishVolume(t.Context(), req); code(err) != codes.AlreadyExists {
		t.Fatalf("publish read-only over read-write: code %v, want AlreadyExists", code(err))
	}
}
