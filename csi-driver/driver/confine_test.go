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
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/container-storage-interface/spec/lib/go/csi"
	"golang.org/x/sys/unix"
	"google.golang.org/grpc/codes"

	"github.com/plinth-dev/plinth/csi-driver/backend"
	"github.com/plinth-dev/plinth/csi-driver/internal/drivertest"
	"github.com/plinth-dev/plinth/test/testpool"
)

// mountTmpfs mounts a tmpfs at dir, which it creates, and unmounts it when
// the test ends.
func mountTmpfs(t *testing.T, dir string) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o750); err != nil {
		t.Fatal(err)
	}
	if err := unix.Mount("tmpfs", dir, "tmpfs", 0, "size=1m"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = unix.Unmount(dir, unix.MNT_DETACH) })
}

// assertTmpfs fails the test unless a tmpfs is still mounted at dir.
func assertTmpfs(t *testing.T, dir string) {
	t.Helper()
	var st unix.Statfs_t
	if err := unix.Statfs(dir, &st); err != nil || st.Type != unix.TMPFS_MAGIC {
		t.Errorf("%s is no longer the tmpfs mounted there (statfs: %v)", dir, err)
	}
}

// TestNodePathsAreConfinedToTheKubeletDir: staging and target paths
// outside the kubelet directory, escaping it with "..", naming the directory
// itself, or passing through a symbolic link inside it are InvalidArgument,
// and nothing is created where they point.
func TestNodePathsAreConfinedToTheKubeletDir(t *testing.T) {
	h := startDriver(t, testpool.Ext4, testpool.Ext4)
	ctx := t.Context()
	resp, err := h.Controller.CreateVolume(ctx, &csi.CreateVolumeRequest{Name: "v", VolumeCapabilities: []*csi.VolumeCapability{drivertest.MountCapability}})
	if err != nil {
		t.Fatal(err)
	}
	id := resp.GetVolume().GetVolumeId()
	outside := t.TempDir()
	if err := os.Symlink(outside, filepath.Join(h.Dir, "link")); err != nil {
		t.Fatal(err)
	}
	staged := filepath.Join(h.Dir, "staged")
	for name, path := range map[string]string{
		"outside":         filepath.Join(outside, "p"),
		"dot-dot":         filepath.Join(h.Dir, "..", filepath.Base(outside), "p"),
		"dot-dot escape":  h.Dir + "/x/../../" + filepath.Base(h.Dir) + "-not/p",
		"the dir itself":  h.Dir,
		"relative":        "p",
		"through symlink": filepath.Join(h.Dir, "link", "p"),
		"symlink itself":  filepath.Join(h.Dir, "link"),
	} {
		for call, f := range map[string]func() error{
			"NodeStageVolume": func() error {
				_, err := h.Node.NodeStageVolume(ctx, &csi.NodeStageVolumeRequest{VolumeId: id, StagingTargetPath: path, VolumeCapability: drivertest.MountCapability})
				return err
			},
			"NodeUnstageVolume": func() error {
				_, err := h.Node.NodeUnstageVolume(ctx, &csi.NodeUnstageVolumeRequest{VolumeId: id, StagingTargetPath: path})
				return err
			},
			"NodePublishVolume": func() error {
				_, err := h.Node.NodePublishVolume(ctx, &csi.NodePublishVolumeRequest{VolumeId: id, StagingTargetPath: staged, TargetPath: path, VolumeCapability: drivertest.MountCapability})
				return err
			},
			"NodeUnpublishVolume": func() error {
				_, err := h.Node.NodeUnpublishVolume(ctx, &csi.NodeUnpublishVolumeRequest{VolumeId: id, TargetPath: path})
				return err
			},
			"inline NodePublishVolume": func() error {
				_, err := h.Node.NodePublishVolume(ctx, ephemeralPublish(ephemeralHandle("pod", "v"), path, nil))
				return err
			},
		} {
			t.Run(name+"/"+call, func(t *testing.T) {
				if got := code(f()); got != codes.InvalidArgument {
					t.Errorf("code %v, want InvalidArgument", got)
				}
			})
		}
	}
	if got := listTree(t, outside); !slices.Equal(got, []string{outside}) {
		t.Errorf("calls created %v outside the kubelet directory", got[1:])
	}
}

// TestUnpublishOfAnUnknownVolumeTouchesNothing reproduces issue 12: the
// unpublish of a well-formed ID of no volume deleted an unrelated file and
// unmounted an unrelated tmpfs. Now it is NotFound and leaves both; the
// unstage of such an ID leaves a tmpfs at the staging path; with nothing at
// the path both succeed, as for a volume already unpublished.
func TestUnpublishOfAnUnknownVolumeTouchesNothing(t *testing.T) {
	h := startDriver(t, testpool.Ext4, testpool.Ext4)
	ctx := t.Context()
	unknown := string(backend.NewVolumeID("never-created"))
	file, tmpfs := filepath.Join(h.Dir, "file"), filepath.Join(h.Dir, "tmpfs")
	if err := os.WriteFile(file, []byte("precious"), 0o600); err != nil {
		t.Fatal(err)
	}
	mountTmpfs(t, tmpfs)
	for _, target := range []string{file, tmpfs} {
		_, err := h.Node.NodeUnpublishVolume(ctx, &csi.NodeUnpublishVolumeRequest{VolumeId: unknown, TargetPath: target})
		if code(err) != codes.NotFound {
			t.Errorf("unpublish of an unknown volume from %s: %v, want NotFound", target, err)
		}
	}
	if _, err := h.Node.NodeUnstageVolume(ctx, &csi.NodeUnstageVolumeRequest{VolumeId: unknown, StagingTargetPath: tmpfs}); code(err) != codes.NotFound {
		t.Errorf("unstage of an unknown volume from a tmpfs: %v, want NotFound", err)
	}
	if data, err := os.ReadFile(file); err != nil || string(data) != "precious" {
		t.Errorf("the unrelated file: %q, %v", data, err)
	}
	assertTmpfs(t, tmpfs)
	missing := filepath.Join(h.Dir, "missing")
	if _, err := h.Node.NodeUnpublishVolume(ctx, &csi.NodeUnpublishVolumeRequest{VolumeId: unknown, TargetPath: missing}); err != nil {
		t.Errorf("unpublish of an unknown volume from a missing path: %v", err)
	}
	if _, err := h.Node.NodeUnstageVolume(ctx, &csi.NodeUnstageVolumeRequest{VolumeId: unknown, StagingTargetPath: missing}); err != nil {
		t.Errorf("unstage of an unknown volume from a missing path: %v", err)
	}
}

// TestNodeCallsUseOnlyTheVolumesOwnMounts: "already mounted" is accepted
// only when the volume's device is what is mounted. A tmpfs at the staging
// or target path is neither taken for the volume nor unmounted, and a
// publish never bind-mounts a staging path that does not hold the volume.
func TestNodeCallsUseOnlyTheVolumesOwnMounts(t *testing.T) {
	h := startDriver(t, testpool.Ext4, testpool.Ext4)
	ctx := t.Context()
	m := h.MountNew(t, "vol", nil)
	tmpfs := filepath.Join(h.Dir, "tmpfs")
	mountTmpfs(t, tmpfs)
	other, err := h.Controller.CreateVolume(ctx, &csi.CreateVolumeRequest{Name: "other", VolumeCapabilities: []*csi.VolumeCapability{drivertest.MountCapability}})
	if err != nil {
		t.Fatal(err)
	}
	otherID := other.GetVolume().GetVolumeId()
	t.Cleanup(func() {
		_, _ = h.Node.NodeUnstageVolume(ctx, &csi.NodeUnstageVolumeRequest{VolumeId: otherID, StagingTargetPath: tmpfs})
	})
	target := filepath.Join(h.Dir, "target2")
	for name, f := range map[string]func() error{
		"stage onto a tmpfs": func() error {
			_, err := h.Node.NodeStageVolume(ctx, &csi.NodeStageVolumeRequest{VolumeId: otherID, StagingTargetPath: tmpfs, VolumeCapability: drivertest.MountCapability})
			return err
		},
		"unstage from a tmpfs": func() error {
			_, err := h.Node.NodeUnstageVolume(ctx, &csi.NodeUnstageVolumeRequest{VolumeId: m.ID, StagingTargetPath: tmpfs})
			return err
		},
		"publish onto a tmpfs": func() error {
			_, err := h.Node.NodePublishVolume(ctx, &csi.NodePublishVolumeRequest{VolumeId: m.ID, StagingTargetPath: m.Staging, TargetPath: tmpfs, VolumeCapability: drivertest.MountCapability})
			return err
		},
		"publish from a tmpfs": func() error {
			_, err := h.Node.NodePublishVolume(ctx, &csi.NodePublishVolumeRequest{VolumeId: m.ID, StagingTargetPath: tmpfs, TargetPath: target, VolumeCapability: drivertest.MountCapability})
			return err
		},
		"unpublish from a tmpfs": func() error {
			_, err := h.Node.NodeUnpublishVolume(ctx, &csi.NodeUnpublishVolumeRequest{VolumeId: m.ID, TargetPath: tmpfs})
			return err
		},
	} {
		t.Run(name, func(t *testing.T) {
			if got := code(f()); got != codes.FailedPrecondition {
				t.Errorf("code %v, want FailedPrecondition", got)
			}
			assertTmpfs(t, tmpfs)
		})
	}
	if mounted, _ := h.isMounted(target); mounted {
		t.Errorf("a publish from a tmpfs staging path mounted something at %s", target)
	}
}

// isMounted reports whether path is a mount point.
func (h *harness) isMounted(path string) (bool, error) {
	var st, parent unix.Stat_t
	if err := unix.Stat(path, &st); err != nil {
		return false, err
	}
	if err := unix.Stat(filepath.Dir(path), &parent); err != nil {
		return false, err
	}
	return st.Dev != parent.Dev, nil
}
