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

package storagepool_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/container-storage-interface/spec/lib/go/csi"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	storagev1alpha1 "github.com/plinth-dev/plinth/apis/storage/v1alpha1"
	"github.com/plinth-dev/plinth/cmd/plinth-node/app"
	"github.com/plinth-dev/plinth/internal/wellknown"
	"github.com/plinth-dev/plinth/test/controlplane"
	"github.com/plinth-dev/plinth/test/storagenode"
	"github.com/plinth-dev/plinth/test/testpool"
)

const waitTimeout = 2 * time.Minute

func startCluster(t *testing.T, nodes ...string) *controlplane.ControlPlane {
	t.Helper()
	testpool.RequireNodeTools(t)
	root, err := controlplane.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	scheme, err := app.Scheme()
	if err != nil {
		t.Fatal(err)
	}
	opts := controlplane.Options{
		Scheme:            scheme,
		CRDDirectoryPaths: []string{filepath.Join(root, "config", "crd", "snapshot"), filepath.Join(root, "config", "crd", "bases")},
	}
	for _, name := range nodes {
		opts.Nodes = append(opts.Nodes, controlplane.NodeSpec{Name: name, Zone: "zone-a", Region: "region-1"})
	}
	cp := controlplane.StartForTest(t, opts)
	if err := cp.WaitForNodesReady(t.Context(), waitTimeout); err != nil {
		t.Fatal(err)
	}
	if err := storagenode.InstallDriver(t.Context(), cp); err != nil {
		t.Fatal(err)
	}
	return cp
}

// waitForPool polls the node's StoragePool until it is Ready and ok accepts it.
func waitForPool(t *testing.T, cp *controlplane.ControlPlane, node, what string, ok func(*storagev1alpha1.StoragePool) bool) *storagev1alpha1.StoragePool {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), waitTimeout)
	defer cancel()
	sp := &storagev1alpha1.StoragePool{}
	for {
		err := cp.Client.Get(ctx, client.ObjectKey{Name: node}, sp)
		if err == nil && meta.IsStatusConditionTrue(sp.Status.Conditions, storagev1alpha1.PoolReady) && ok(sp) {
			return sp
		}
		select {
		case <-ctx.Done():
			t.Fatalf("StoragePool %s never became Ready with %s; last seen %+v (error %v)", node, what, sp, err)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

func TestStoragePoolDescribesEachNodesPool(t *testing.T) {
	cp := startCluster(t, "node-xfs", "node-ext4")
	for _, tc := range []struct {
		node, poolFS string
		wantReflink  bool
	}{
		{"node-xfs", testpool.XFS, true},
		{"node-ext4", testpool.Ext4, false},
	} {
		n := storagenode.Start(t, cp, tc.node, storagenode.Options{PoolFS: tc.poolFS})
		sp := waitForPool(t, cp, tc.node, "its filesystem", func(sp *storagev1alpha1.StoragePool) bool {
			return sp.Status.Filesystem == tc.poolFS
		})
		if sp.Status.Reflink != tc.wantReflink {
			t.Errorf("%s: reflink = %v, want %v", tc.node, sp.Status.Reflink, tc.wantReflink)
		}
		assertSpecAndFigures(t, sp, n)
		assertOwnedByNode(t, cp, sp)
	}
}

func assertSpecAndFigures(t *testing.T, sp *storagev1alpha1.StoragePool, n *storagenode.Node) {
	t.Helper()
	if sp.Spec.NodeName != n.Name || sp.Spec.Path != n.PoolDir || sp.Spec.OverProvisionRatio == nil || sp.Spec.OverProvisionRatio.Value() != 1 {
		t.Errorf("%s: spec = %+v, want node %s, path %s and ratio 1", n.Name, sp.Spec, n.Name, n.PoolDir)
	}
	st := sp.Status
	if st.Capacity == nil || st.Used == nil || st.Available == nil || st.Capacity.Sign() <= 0 ||
		st.Used.Cmp(*st.Capacity) > 0 || st.Available.Cmp(*st.Capacity) > 0 {
		t.Errorf("%s: capacity %v, used %v, available %v; want 0 < used, available <= capacity", n.Name, st.Capacity, st.Used, st.Available)
	}
	if st.Volumes != 0 || st.Snapshots != 0 || st.ObservedGeneration != sp.Generation {
		t.Errorf("%s: status = %+v, want an empty pool at generation %d", n.Name, st, sp.Generation)
	}
}

func assertOwnedByNode(t *testing.T, cp *controlplane.ControlPlane, sp *storagev1alpha1.StoragePool) {
	t.Helper()
	node := &corev1.Node{}
	if err := cp.Client.Get(t.Context(), client.ObjectKey{Name: sp.Name}, node); err != nil {
		t.Fatal(err)
	}
	refs := sp.GetOwnerReferences()
	if len(refs) != 1 || refs[0].Kind != "Node" || refs[0].UID != node.UID {
		t.Errorf("%s: owner references = %+v, want the Node (uid %s)", sp.Name, refs, node.UID)
	}
}

// TestStoragePoolCountsVolumesAndSnapshots: the status counts the pool's
// objects, and its available space is the driver's GetCapacity, which
// (what the CSIStorageCapacity objects publish too) drops by the full size
// of each sparse volume and snapshot.
func TestStoragePoolCountsVolumesAndSnapshots(t *testing.T) {
	cp := startCluster(t, "node-1")
	n := storagenode.Start(t, cp, "node-1", storagenode.Options{CapacityResync: time.Second})
	empty := waitForPool(t, cp, n.Name, "an empty pool", func(sp *storagev1alpha1.StoragePool) bool {
		return sp.Status.Filesystem != "" && sp.Status.Available != nil
	})
	ctx := t.Context()
	vol, err := n.Conn.Controller.CreateVolume(ctx, &csi.CreateVolumeRequest{
		Name:               "pvc-storagepool-test",
		CapacityRange:      &csi.CapacityRange{RequiredBytes: 64 << 20},
		VolumeCapabilities: []*csi.VolumeCapability{mountCapability()},
	})
	if err != nil {
		t.Fatal(err)
	}
	waitForPool(t, cp, n.Name, "one volume", func(sp *storagev1alpha1.StoragePool) bool { return sp.Status.Volumes == 1 })
	_, err = n.Conn.Controller.CreateSnapshot(ctx, &csi.CreateSnapshotRequest{
		Name: "snapshot-storagepool-test", SourceVolumeId: vol.GetVolume().GetVolumeId(),
	})
	if err != nil {
		t.Fatal(err)
	}
	sp := waitForPool(t, cp, n.Name, "one volume and one snapshot", func(sp *storagev1alpha1.StoragePool) bool {
		return sp.Status.Volumes == 1 && sp.Status.Snapshots == 1 && sp.Status.Available != nil && sp.Status.Available.Value() == available(t, n)
	})
	const promised, metadata = 2 * 64 << 20, 1 << 20
	if drop := empty.Status.Available.Value() - sp.Status.Available.Value(); drop < promised || drop > promised+metadata {
		t.Errorf("available went from %v to %v, a drop of %d bytes, want the %d promised to the volume and its snapshot",
			empty.Status.Available, sp.Status.Available, drop, promised)
	}
}

// available is the driver's GetCapacity answer for the whole pool.
func available(t *testing.T, n *storagenode.Node) int64 {
	t.Helper()
	resp, err := n.Conn.Controller.GetCapacity(t.Context(), &csi.GetCapacityRequest{})
	if err != nil {
		t.Fatal(err)
	}
	return resp.GetAvailableCapacity()
}

func TestStoragePoolFollowsPersistentVolumesOfTheDriverAtOnce(t *testing.T) {
	cp := startCluster(t, "node-1")
	// A resync far beyond the test's deadline: only the PV event can refresh.
	n := storagenode.Start(t, cp, "node-1", storagenode.Options{CapacityResync: time.Hour})
	waitForPool(t, cp, n.Name, "an empty pool", func(sp *storagev1alpha1.StoragePool) bool { return sp.Status.Filesystem != "" })
	ctx := t.Context()
	vol, err := n.Conn.Controller.CreateVolume(ctx, &csi.CreateVolumeRequest{
		Name:               "pvc-storagepool-event",
		CapacityRange:      &csi.CapacityRange{RequiredBytes: 64 << 20},
		VolumeCapabilities: []*csi.VolumeCapability{mountCapability()},
	})
	if err != nil {
		t.Fatal(err)
	}
	pv := &corev1.PersistentVolume{
		// A PV made by hand, as plinth-controller's node-label
		// controller labels it: the nodes watch only their own and the
		// unclaimed ones.
		ObjectMeta: metav1.ObjectMeta{Name: "pv-storagepool-event", Labels: map[string]string{wellknown.LabelNode: wellknown.NodeUnclaimed}},
		Spec: corev1.PersistentVolumeSpec{
			Capacity:                      corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("64Mi")},
			AccessModes:                   []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
			PersistentVolumeReclaimPolicy: corev1.PersistentVolumeReclaimRetain,
			PersistentVolumeSource: corev1.PersistentVolumeSource{CSI: &corev1.CSIPersistentVolumeSource{
				Driver: wellknown.DriverName, VolumeHandle: vol.GetVolume().GetVolumeId(),
			}},
		},
	}
	if err := cp.Client.Create(ctx, pv); err != nil {
		t.Fatal(err)
	}
	waitForPool(t, cp, n.Name, "the PV's volume", func(sp *storagev1alpha1.StoragePool) bool { return sp.Status.Volumes == 1 })
}

func mountCapability() *csi.VolumeCapability {
	return &csi.VolumeCapability{
		AccessType: &csi.VolumeCapability_Mount{Mount: &csi.VolumeCapability_MountVolume{FsType: "ext4"}},
		AccessMode: &csi.VolumeCapability_AccessMode{Mode: csi.VolumeCapability_AccessMode_SINGLE_NODE_WRITER},
	}
}
