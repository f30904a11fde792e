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
	"bytes"
	"context"
	"slices"
	"testing"

	"github.com/kubernetes-csi/external-snapshotter/v8/pkg/utils"

	"github.com/plinth-dev/plinth/internal/wellknown"

	snapshotv1 "github.com/kubernetes-csi/external-snapshotter/client/v8/apis/volumesnapshot/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"

	controllerapp "github.com/plinth-dev/plinth/cmd/plinth-controller/app"
	"github.com/plinth-dev/plinth/controllers/cluster"
	"github.com/plinth-dev/plinth/controllers/cluster/nodeipam"
	"github.com/plinth-dev/plinth/controllers/cluster/snapshot"
	"github.com/plinth-dev/plinth/test/storagenode"
)

// startPlinthController runs plinth-controller in-process until the test
// ends, with the controllers the storage scenarios need (the cluster's
// kube-controller-manager allocates pod CIDRs itself).
func (sc *storageCluster) startPlinthController(t testing.TB) {
	controllers := cluster.DefaultControllers()
	for i := range controllers {
		controllers[i].Enabled = controllers[i].Name != nodeipam.ControllerName
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- controllerapp.Run(ctx, controllerapp.Config{
			RestConfig: sc.cp.Config, Namespace: storagenode.Namespace,
			MetricsAddress: "0", HealthAddress: "0", Controllers: controllers,
			SkipControllerNameValidation: true,
		})
	}()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("plinth-controller: %v", err)
		}
	})
}

func TestSnapshotLifecycle(t *testing.T) {
	sc := startSnapshotCluster(t, storagenode.Options{})
	sc.startPlinthController(t)
	ctx := t.Context()
	class := sc.createClass(t, "plinth-wffc", "WaitForFirstConsumer", nil)
	sc.waitForCapacities(t, class)
	sc.create(t, snapshotClass("plinth-snapshots", snapshotv1.VolumeSnapshotContentDelete, true),
		snapshotClass("plinth-retain", snapshotv1.VolumeSnapshotContentRetain, false))
	ns := sc.namespace(t, "snapshots")
	sc.create(t, claim(ns, "src", class, "200Mi"), pod(ns, "src", "src"))
	node := sc.waitScheduled(t, ns, "src")
	srcPV := sc.waitBound(t, ns, "src")
	original := bytes.Repeat([]byte("plinth snapshot test\n"), 4096)
	sc.nodes[node].WriteFile(t, srcPV, original)

	t.Run("a snapshot of a claim not bound yet is taken once the claim is bound", func(t *testing.T) {
		sc.create(t, claim(ns, "late", class, "100Mi"))
		sc.create(t, &snapshotv1.VolumeSnapshot{
			ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "early"},
			Spec:       snapshotv1.VolumeSnapshotSpec{Source: snapshotv1.VolumeSnapshotSource{PersistentVolumeClaimName: ptr.To("late")}},
		})
		sc.waitForEvent(t, ns, "early", snapshot.ReasonSnapshotPending)
		sc.create(t, pod(ns, "late", "late"))
		sc.waitBound(t, ns, "late")
		sc.waitReady(t, ns, "early")
	})

	t.Run("a snapshot becomes ready and restores the data on the source's node", func(t *testing.T) {
		vs := sc.snapshotOf(t, ns, "snap", "src", "")
		if got := ptr.Deref(vs.Spec.VolumeSnapshotClassName, ""); got != "plinth-snapshots" {
			t.Errorf("snapshot class = %q, want the default class plinth-snapshots", got)
		}
		sc.nodes[node].WriteFile(t, srcPV, bytes.Repeat([]byte("overwritten\n"), 100))
		restored := claim(ns, "restored", class, "200Mi")
		restored.Spec.DataSource = &corev1.TypedLocalObjectReference{APIGroup: ptr.To(snapshotv1.GroupName), Kind: "VolumeSnapshot", Name: "snap"}
		sc.create(t, restored, pod(ns, "restored", "restored"))
		pv := sc.waitBound(t, ns, "restored")
		assertPVOnNode(t, pv, node)
		if got := sc.waitScheduled(t, ns, "restored"); got != node {
			t.Errorf("restored pod scheduled to %s, want %s where the snapshot lives", got, node)
		}
		if got := sc.nodes[node].ReadFile(t, pv); !bytes.Equal(got, original) {
			t.Errorf("restored volume holds %d bytes that differ from the %d written before the snapshot", len(got), len(original))
		}
	})

	t.Run("deleting a snapshot with the Delete policy deletes content and physical snapshot", func(t *testing.T) {
		vs := sc.snapshotOf(t, ns, "short-lived", "src", "")
		content, handle := sc.contentOf(t, vs)
		sc.delete(t, vs)
		sc.waitGone(t, content)
		if slices.Contains(sc.nodes[node].Snapshots(t), handle) {
			t.Errorf("physical snapshot %s still exists after its VolumeSnapshot was deleted", handle)
		}
	})

	var retained string // the physical snapshot the Retain case keeps
	t.Run("deleting a snapshot with the Retain policy keeps content and physical snapshot", func(t *testing.T) {
		vs := sc.snapshotOf(t, ns, "kept", "src", "plinth-retain")
		content, handle := sc.contentOf(t, vs)
		retained = handle
		sc.delete(t, vs)
		sc.waitGone(t, vs)
		poll(t, "retained content released", func(ctx context.Context) (bool, error) {
			err := sc.cp.Client.Get(ctx, client.ObjectKeyFromObject(content), content)
			return err == nil && !controllerutil.ContainsFinalizer(content, utils.VolumeSnapshotContentFinalizer), err
		})
		if !slices.Contains(sc.nodes[node].Snapshots(t), handle) {
			t.Errorf("physical snapshot %s was deleted although its policy is Retain", handle)
		}
	})

	t.Run("a pre-provisioned content imports an existing snapshot", func(t *testing.T) {
		if retained == "" {
			t.Fatal("the Retain case kept no snapshot to import")
		}
		sc.create(t, &snapshotv1.VolumeSnapshotContent{
			ObjectMeta: metav1.ObjectMeta{Name: "imported-content"},
			Spec: snapshotv1.VolumeSnapshotContentSpec{
				VolumeSnapshotRef: corev1.ObjectReference{Namespace: ns, Name: "imported"},
				DeletionPolicy:    snapshotv1.VolumeSnapshotContentDelete,
				Driver:            wellknown.DriverName,
				Source:            snapshotv1.VolumeSnapshotContentSource{SnapshotHandle: &retained},
			},
		}, &snapshotv1.VolumeSnapshot{
			ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "imported"},
			Spec:       snapshotv1.VolumeSnapshotSpec{Source: snapshotv1.VolumeSnapshotSource{VolumeSnapshotContentName: ptr.To("imported-content")}},
		})
		vs := sc.waitReady(t, ns, "imported")
		restored := claim(ns, "from-imported", class, "200Mi")
		restored.Spec.DataSource = &corev1.TypedLocalObjectReference{APIGroup: ptr.To(snapshotv1.GroupName), Kind: "VolumeSnapshot", Name: "imported"}
		sc.create(t, restored, pod(ns, "from-imported", "from-imported"))
		assertPVOnNode(t, sc.waitBound(t, ns, "from-imported"), node)
		content, _ := sc.contentOf(t, vs)
		sc.delete(t, vs)
		sc.waitGone(t, content)
		if slices.Contains(sc.nodes[node].Snapshots(t), retained) {
			t.Errorf("imported snapshot %s still exists after its Delete-policy snapshot was deleted", retained)
		}
	})

	t.Run("a claim cannot go away while a snapshot of it is being cut", func(t *testing.T) {
		sc.nodes[node].Stop() // no node controller: the snapshot stays uncut
		sc.create(t, &snapshotv1.VolumeSnapshot{
			ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "in-flight"},
			Spec:       snapshotv1.VolumeSnapshotSpec{Source: snapshotv1.VolumeSnapshotSource{PersistentVolumeClaimName: ptr.To("src")}},
		})
		pvc := &corev1.PersistentVolumeClaim{}
		poll(t, "source claim protected", func(ctx context.Context) (bool, error) {
			err := sc.cp.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: "src"}, pvc)
			return err == nil && controllerutil.ContainsFinalizer(pvc, utils.PVCFinalizer), err
		})
		sc.deletePod(t, ns, "src")
		sc.delete(t, pvc)
		if err := sc.cp.Client.Get(ctx, client.ObjectKeyFromObject(pvc), pvc); err != nil || pvc.DeletionTimestamp.IsZero() {
			t.Fatalf("claim should be terminating and still present: %v", err)
		}
		sc.nodes[node].Restart()
		sc.waitReady(t, ns, "in-flight")
		sc.waitGone(t, pvc)
	})
}

func snapshotClass(name string, policy snapshotv1.DeletionPolicy, isDefault bool) *snapshotv1.VolumeSnapshotClass {
	class := &snapshotv1.VolumeSnapshotClass{
		ObjectMeta:     metav1.ObjectMeta{Name: name},
		Driver:         wellknown.DriverName,
		DeletionPolicy: policy,
	}
	if isDefault {
		class.Annotations = map[string]string{utils.IsDefaultSnapshotClassAnnotation: "true"}
	}
	return class
}

// snapshotOf snapshots a claim and waits until the snapshot is ready.
func (sc *storageCluster) snapshotOf(t testing.TB, ns, name, claimName, class string) *snapshotv1.VolumeSnapshot {
	t.Helper()
	vs := &snapshotv1.VolumeSnapshot{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec:       snapshotv1.VolumeSnapshotSpec{Source: snapshotv1.VolumeSnapshotSource{PersistentVolumeClaimName: &claimName}},
	}
	if class != "" {
		vs.Spec.VolumeSnapshotClassName = &class
	}
	sc.create(t, vs)
	return sc.waitReady(t, ns, name)
}

func (sc *storageCluster) waitReady(t testing.TB, ns, name string) *snapshotv1.VolumeSnapshot {
	t.Helper()
	vs := &snapshotv1.VolumeSnapshot{}
	poll(t, "snapshot "+name+" ready", func(ctx context.Context) (bool, error) {
		err := sc.cp.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, vs)
		return err == nil && snapshot.IsReady(vs), err
	})
	return vs
}

// contentOf returns a ready snapshot's content and its physical snapshot ID.
func (sc *storageCluster) contentOf(t testing.TB, vs *snapshotv1.VolumeSnapshot) (*snapshotv1.VolumeSnapshotContent, string) {
	t.Helper()
	content := &snapshotv1.VolumeSnapshotContent{}
	if err := sc.cp.Client.Get(t.Context(), client.ObjectKey{Name: *vs.Status.BoundVolumeSnapshotContentName}, content); err != nil {
		t.Fatal(err)
	}
	return content, ptr.Deref(content.Status.SnapshotHandle, "")
}
