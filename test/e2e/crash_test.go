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

package e2e

import (
	"context"
	"slices"
	"sync/atomic"
	"testing"

	"github.com/kubernetes-csi/external-snapshotter/v8/pkg/utils"

	"github.com/plinth-dev/plinth/internal/wellknown"

	snapshotv1 "github.com/kubernetes-csi/external-snapshotter/client/v8/apis/volumesnapshot/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"

	"github.com/plinth-dev/plinth/csi-driver/backend"
	"github.com/plinth-dev/plinth/test/storagenode"
)

// crashOnce returns a CrashAfter hook that crashes the first node to call
// method, once.
func crashOnce(method string) func(string) bool {
	var fired atomic.Bool
	return func(m string) bool {
		return m == method && fired.CompareAndSwap(false, true)
	}
}

// crashedNode returns the node that crashed, waiting for one to.
func (sc *storageCluster) crashedNode(t testing.TB) *storagenode.Node {
	t.Helper()
	var crashed *storagenode.Node
	poll(t, "a node to crash", func(context.Context) (bool, error) {
		for _, n := range sc.nodes {
			if n.Crashed() {
				crashed = n
				return true, nil
			}
		}
		return false, nil
	})
	return crashed
}

func TestCrashBetweenCreateVolumeAndPVLeaksNothing(t *testing.T) {
	sc := startStorageClusterWith(t, storagenode.Options{CrashAfter: crashOnce("/csi.v1.Controller/CreateVolume")})
	class := sc.createClass(t, "plinth-wffc", "WaitForFirstConsumer", nil)
	sc.waitForCapacities(t, class)

	t.Run("the claim deleted meanwhile: the volume is deleted after the restart", func(t *testing.T) {
		ns := sc.namespace(t, "crash-deleted")
		pvc := claim(ns, "data", class, "100Mi")
		sc.create(t, pvc, pod(ns, "app", "data"))
		node := sc.crashedNode(t)
		assertIntentRecorded(t, sc, pvc)
		volumeID := string(backend.NewVolumeID(wellknown.VolumeName(string(pvc.UID))))
		sc.deletePod(t, ns, "app")
		sc.delete(t, pvc)
		node.Restart()
		sc.waitGone(t, pvc)
		ids, err := node.Volumes(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		if slices.Contains(ids, volumeID) {
			t.Errorf("volume %s of the deleted claim leaked on %s", volumeID, node.Name)
		}
		sc.assertVolumesMatchPVs(t)
	})
}

func TestCrashBetweenCreateVolumeAndPVProvisionsOnce(t *testing.T) {
	sc := startStorageClusterWith(t, storagenode.Options{CrashAfter: crashOnce("/csi.v1.Controller/CreateVolume")})
	class := sc.createClass(t, "plinth-wffc", "WaitForFirstConsumer", nil)
	sc.waitForCapacities(t, class)
	ns := sc.namespace(t, "crash-kept")
	pvc := claim(ns, "data", class, "100Mi")
	sc.create(t, pvc, pod(ns, "app", "data"))
	node := sc.crashedNode(t)
	assertIntentRecorded(t, sc, pvc)
	node.Restart()
	pv := sc.waitBound(t, ns, "data")
	if want := string(backend.NewVolumeID(pv.Name)); pv.Spec.CSI.VolumeHandle != want {
		t.Errorf("PV records volume %s, want %s (the one created before the crash)", pv.Spec.CSI.VolumeHandle, want)
	}
	sc.assertVolumesMatchPVs(t)
}

func TestCrashBetweenCreateSnapshotAndStatusLeaksNothing(t *testing.T) {
	sc := startSnapshotCluster(t, storagenode.Options{})
	sc.startPlinthController(t)
	class := sc.createClass(t, "plinth-wffc", "WaitForFirstConsumer", nil)
	sc.waitForCapacities(t, class)
	sc.create(t, snapshotClass("plinth-snapshots", snapshotv1.VolumeSnapshotContentDelete, true))
	ns := sc.namespace(t, "crash-snapshot")
	sc.create(t, claim(ns, "src", class, "100Mi"), pod(ns, "src", "src"))
	node := sc.nodes[sc.waitScheduled(t, ns, "src")]
	sc.waitBound(t, ns, "src")
	node.SetCrashAfter(crashOnce("/csi.v1.Controller/CreateSnapshot"))
	sc.create(t, &snapshotv1.VolumeSnapshot{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "snap"},
		Spec:       snapshotv1.VolumeSnapshotSpec{Source: snapshotv1.VolumeSnapshotSource{PersistentVolumeClaimName: ptr.To("src")}},
	})
	poll(t, "the node to crash after CreateSnapshot", func(context.Context) (bool, error) { return node.Crashed(), nil })
	vs := &snapshotv1.VolumeSnapshot{}
	if err := sc.cp.Client.Get(t.Context(), client.ObjectKey{Namespace: ns, Name: "snap"}, vs); err != nil {
		t.Fatal(err)
	}
	content := &snapshotv1.VolumeSnapshotContent{}
	if err := sc.cp.Client.Get(t.Context(), client.ObjectKey{Name: wellknown.SnapshotContentName(string(vs.UID))}, content); err != nil {
		t.Fatal(err)
	}
	if content.Annotations[utils.AnnVolumeSnapshotBeingCreated] == "" {
		t.Errorf("content lost its being-created annotation in the crash")
	}
	sc.delete(t, vs)
	node.Restart()
	sc.waitGone(t, content)
	if snaps := node.Snapshots(t); len(snaps) != 0 {
		t.Errorf("snapshots %v leaked on %s after their VolumeSnapshot was deleted", snaps, node.Name)
	}
}

// assertIntentRecorded checks the state a crash after CreateVolume leaves:
// the claim holds the provisioning finalizer and no PV exists.
func assertIntentRecorded(t testing.TB, sc *storageCluster, pvc *corev1.PersistentVolumeClaim) {
	t.Helper()
	if err := sc.cp.Client.Get(t.Context(), client.ObjectKeyFromObject(pvc), pvc); err != nil {
		t.Fatal(err)
	}
	if !controllerutil.ContainsFinalizer(pvc, wellknown.FinalizerProvisioning) {
		t.Errorf("claim has no provisioning finalizer after a crash past CreateVolume: %v", pvc.Finalizers)
	}
	pvs := &corev1.PersistentVolumeList{}
	if err := sc.cp.Client.List(t.Context(), pvs); err != nil {
		t.Fatal(err)
	}
	if len(pvs.Items) != 0 {
		t.Errorf("a PV exists although the node crashed before creating it")
	}
}

// assertVolumesMatchPVs compares every node's backend volumes with the PVs:
// nothing leaked, nothing provisioned twice.
func (sc *storageCluster) assertVolumesMatchPVs(t testing.TB) {
	t.Helper()
	pvs := &corev1.PersistentVolumeList{}
	if err := sc.cp.Client.List(t.Context(), pvs); err != nil {
		t.Fatal(err)
	}
	want := map[string][]string{}
	for _, pv := range pvs.Items {
		node := pv.Annotations[wellknown.AnnNode]
		want[node] = append(want[node], pv.Spec.CSI.VolumeHandle)
	}
	for name, n := range sc.nodes {
		got, err := n.Volumes(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		slices.Sort(got)
		slices.Sort(want[name])
		if !slices.Equal(got, want[name]) {
			t.Errorf("node %s holds volumes %v, PVs record %v", name, got, want[name])
		}
	}
}
