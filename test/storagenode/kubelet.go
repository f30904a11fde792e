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

package storagenode

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/container-storage-interface/spec/lib/go/csi"
	corev1 "k8s.io/api/core/v1"
)

// dataFile is the file WriteFile and ReadFile use inside a volume.
const dataFile = "data.bin"

// WriteFile stages and publishes the PV's volume on the node as the kubelet
// would for a pod, writes data into a file on it, syncs it, and unpublishes
// and unstages the volume again.
func (n *Node) WriteFile(t testing.TB, pv *corev1.PersistentVolume, data []byte) {
	t.Helper()
	n.withVolume(t, pv, func(dir string) {
		f, err := os.Create(filepath.Join(dir, dataFile))
		if err != nil {
			t.Fatal(err)
		}
		defer func() { _ = f.Close() }()
		if _, err := f.Write(data); err != nil {
			t.Fatal(err)
		}
		if err := f.Sync(); err != nil {
			t.Fatal(err)
		}
	})
}

// ReadFile returns what WriteFile last wrote into the PV's volume.
func (n *Node) ReadFile(t testing.TB, pv *corev1.PersistentVolume) []byte {
	t.Helper()
	var data []byte
	n.withVolume(t, pv, func(dir string) {
		var err error
		if data, err = os.ReadFile(filepath.Join(dir, dataFile)); err != nil {
			t.Fatal(err)
		}
	})
	return data
}

// withVolume runs use with the PV's filesystem published at a directory.
func (n *Node) withVolume(t testing.TB, pv *corev1.PersistentVolume, use func(dir string)) {
	t.Helper()
	ctx := context.Background()
	dir, err := os.MkdirTemp("", "plinth-kubelet-")
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = os.RemoveAll(dir) }()
	staging, target := filepath.Join(dir, "staging"), filepath.Join(dir, "target")
	if err := os.Mkdir(staging, 0o750); err != nil {
		t.Fatal(err)
	}
	id := pv.Spec.CSI.VolumeHandle
	capability := &csi.VolumeCapability{
		AccessType: &csi.VolumeCapability_Mount{Mount: &csi.VolumeCapability_MountVolume{FsType: pv.Spec.CSI.FSType}},
		AccessMode: &csi.VolumeCapability_AccessMode{Mode: csi.VolumeCapability_AccessMode_SINGLE_NODE_WRITER},
	}
	if _, err := n.Conn.Node.NodeStageVolume(ctx, &csi.NodeStageVolumeRequest{VolumeId: id, StagingTargetPath: staging, VolumeCapability: capability}); err != nil {
		t.Fatalf("NodeStageVolume %s: %v", id, err)
	}
	defer func() {
		if _, err := n.Conn.Node.NodeUnstageVolume(ctx, &csi.NodeUnstageVolumeRequest{VolumeId: id, StagingTargetPath: staging}); err != nil {
			t.Errorf("NodeUnstageVolume %s: %v", id, err)
		}
	}()
	if _, err := n.Conn.Node.NodePublishVolume(ctx, &csi.NodePublishVolumeRequest{VolumeId: id, StagingTargetPath: staging, TargetPath: target, VolumeCapability: capability}); err != nil {
		t.Fatalf("NodePublishVolume %s: %v", id, err)
	}
	defer func() {
		if _, err := n.Conn.Node.NodeUnpublishVolume(ctx, &csi.NodeUnpublishVolumeRequest{VolumeId: id, TargetPath: target}); err != nil {
			t.Errorf("NodeUnpublishVolume %s: %v", id, err)
		}
	}()
	use(target)
}

// Snapshots lists the IDs of the snapshots in the node's pool.
func (n *Node) Snapshots(t testing.TB) []string {
	t.Helper()
	var ids []string
	token := ""
	for {
		resp, err := n.Conn.Controller.ListSnapshots(context.Background(), &csi.ListSnapshotsRequest{StartingToken: token})
		if err != nil {
			t.Fatalf("failed to list snapshots of %s: %v", n.Name, err)
		}
		for _, e := range resp.GetEntries() {
			ids = append(ids, e.GetSnapshot().GetSnapshotId())
		}
		if token = resp.GetNextToken(); token == "" {
			return ids
		}
	}
}
