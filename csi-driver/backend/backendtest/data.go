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

package backendtest

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/plinth-dev/plinth/csi-driver/internal/drivertest"
)

// dataChecks are the checks that a user's data survives what the driver
// and the backend do to its volume.
var dataChecks = []struct {
	name  string
	check func(t *testing.T, d *drivertest.Driver, fsType string)
}{
	{"SnapshotRestoreAndCloneKeepData", snapshotRestoreAndClone},
	{"SnapshotOfAMountedVolumeHoldsUnsyncedWrites", snapshotHoldsUnsyncedWrites},
	{"OnlineExpansionKeepsData", onlineExpansion},
	{"OfflineExpansionKeepsData", offlineExpansion},
}

// runDataChecks runs every data check against a driver of its own on a
// fresh backend.
func runDataChecks(t *testing.T, tg target) {
	for _, c := range dataChecks {
		t.Run(c.name, func(t *testing.T) {
			c.check(t, drivertest.Serve(t, tg.newBackend(t), tg.fsType), tg.fsType)
		})
	}
}

// snapshotRestoreAndClone writes known data into a mounted volume,
// snapshots it (while mounted), overwrites it, and checks that a restore of
// the snapshot holds the old data and a clone the new.
func snapshotRestoreAndClone(t *testing.T, d *drivertest.Driver, _ string) {
	src := d.MountNew(t, "src", nil)
	a, b := drivertest.Pattern(1), drivertest.Pattern(2)
	drivertest.WriteFile(t, src.Path, a)

	snap := d.Snapshot(t, "snap-a", src.ID)
	drivertest.WriteFile(t, src.Path, b)
	restored := d.MountNew(t, "restored", drivertest.SnapshotSource(snap))
	drivertest.AssertFile(t, restored.Path, a)

	clone := d.MountNew(t, "clone", drivertest.VolumeSource(src.ID))
	drivertest.AssertFile(t, clone.Path, b)
}

// snapshotHoldsUnsyncedWrites: data an application wrote but never fsynced
// sits in the page cache, and only quiescing the filesystem (the pool
// backend freezes it) flushes it into the volume before the copy.
func snapshotHoldsUnsyncedWrites(t *testing.T, d *drivertest.Driver, _ string) {
	src := d.MountNew(t, "src", nil)
	data := drivertest.Pattern(4)
	if err := os.WriteFile(src.Path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	snap := d.Snapshot(t, "unsynced", src.ID)
	restored := d.MountNew(t, "restored", drivertest.SnapshotSource(snap))
	drivertest.AssertFile(t, restored.Path, data)
}

// onlineExpansion grows a mounted volume and checks that the filesystem
// grew, the data is intact, and a snapshot taken afterwards restores it.
// XFS grows online with the capabilities every mounting driver has; ext4
// only with CAP_SYS_RESOURCE, see ext4OnlineExpansion.
func onlineExpansion(t *testing.T, d *drivertest.Driver, fsType string) {
	src := d.MountNew(t, "src", nil)
	data := drivertest.Pattern(3)
	drivertest.WriteFile(t, src.Path, data)

	d.ExpandController(t, src, 2*drivertest.VolumeSize)
	if fsType == "ext4" {
		ext4OnlineExpansion(t, d, src, drivertest.HasCapability(unix.CAP_SYS_RESOURCE))
	} else if err := d.ExpandNode(t, src); err != nil {
		t.Fatal(err)
	}
	drivertest.AssertFilesystemSize(t, src.Path, 2*drivertest.VolumeSize)
	drivertest.AssertFile(t, src.Path, data)
	assertRestoreAfterExpansion(t, d, src, data)
}

// ext4OnlineExpansion asks the node to grow the mounted ext4 volume m. With
// CAP_SYS_RESOURCE the filesystem grows in place. Without it the kernel
// refuses, so the driver must answer FailedPrecondition naming the cause and
// leave the filesystem working at its old size; the next stage grows it.
func ext4OnlineExpansion(t *testing.T, d *drivertest.Driver, m drivertest.Mounted, canResize bool) {
	t.Helper()
	err := d.ExpandNode(t, m)
	if canResize {
		if err != nil {
			t.Fatalf("online ext4 growth with CAP_SYS_RESOURCE: %v", err)
		}
		return
	}
	if status.Code(err) != codes.FailedPrecondition || !strings.Contains(status.Convert(err).Message(), "CAP_SYS_RESOURCE") {
		t.Fatalf("online ext4 growth without CAP_SYS_RESOURCE: got %v, want FailedPrecondition naming CAP_SYS_RESOURCE", err)
	}
	if got := drivertest.FilesystemSize(t, m.Path); got > drivertest.VolumeSize {
		t.Fatalf("filesystem has %d bytes after a refused growth, want at most %d", got, drivertest.VolumeSize)
	}
	other := filepath.Join(m.Target, "after-refusal.bin")
	drivertest.WriteFile(t, other, drivertest.Pattern(6))
	drivertest.AssertFile(t, other, drivertest.Pattern(6))

	d.UnpublishAndUnstage(t, m)
	d.StageAndPublish(t, m)
	if err := d.ExpandNode(t, m); err != nil {
		t.Fatalf("NodeExpandVolume after the stage grew the filesystem: %v", err)
	}
	drivertest.AssertFile(t, other, drivertest.Pattern(6))
}

// offlineExpansion expands an unstaged volume and checks that the next stage
// grows the filesystem, the data is intact, and a snapshot taken afterwards
// restores it. ext4 grows before the mount, XFS right after it; neither
// needs CAP_SYS_RESOURCE.
func offlineExpansion(t *testing.T, d *drivertest.Driver, _ string) {
	src := d.MountNew(t, "src", nil)
	data := drivertest.Pattern(5)
	drivertest.WriteFile(t, src.Path, data)

	d.UnpublishAndUnstage(t, src)
	d.ExpandController(t, src, 2*drivertest.VolumeSize)
	d.StageAndPublish(t, src)
	drivertest.AssertFilesystemSize(t, src.Path, 2*drivertest.VolumeSize)
	drivertest.AssertFile(t, src.Path, data)
	// Kubelet still calls NodeExpandVolume, which finds nothing to do.
	if err := d.ExpandNode(t, src); err != nil {
		t.Fatalf("NodeExpandVolume after the stage grew the filesystem: %v", err)
	}
	assertRestoreAfterExpansion(t, d, src, data)
}

// assertRestoreAfterExpansion checks that a restore of a snapshot of the
// expanded volume m holds data in a filesystem of twice VolumeSize.
func assertRestoreAfterExpansion(t *testing.T, d *drivertest.Driver, m drivertest.Mounted, data []byte) {
	t.Helper()
	snap := d.Snapshot(t, "snap-after-expansion", m.ID)
	restored := d.MountNew(t, "restored", drivertest.SnapshotSource(snap))
	drivertest.AssertFile(t, restored.Path, data)
	drivertest.AssertFilesystemSize(t, restored.Path, 2*drivertest.VolumeSize)
}
