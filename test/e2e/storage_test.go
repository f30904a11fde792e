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
	"fmt"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/container-storage-interface/spec/lib/go/csi"
	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	storagev1 "k8s.io/api/storage/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/component-helpers/storage/volume"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/plinth-dev/plinth/cmd/plinth-node/app"
	"github.com/plinth-dev/plinth/controllers/node/expansion"
	"github.com/plinth-dev/plinth/controllers/node/provisioning"
	"github.com/plinth-dev/plinth/internal/wellknown"
	"github.com/plinth-dev/plinth/test/controlplane"
	"github.com/plinth-dev/plinth/test/objects"
	"github.com/plinth-dev/plinth/test/storagenode"
)

const (
	waitTimeout = 2 * time.Minute
	gib         = int64(1) << 30
)

// storageCluster is a control plane with three storage nodes: in zone-a a
// node whose pool is too small for a 1Gi volume and a large one, in zone-b
// a large one.
type storageCluster struct {
	cp    *controlplane.ControlPlane
	nodes map[string]*storagenode.Node
}

func startStorageCluster(t testing.TB) *storageCluster {
	return startStorageClusterWith(t, storagenode.Options{})
}

// startSnapshotCluster starts the cluster with pools that hold a few volumes
// and their snapshots on every node: a snapshot takes as much of its node's
// capacity as its source, and kube-scheduler, which knows nothing of
// snapshots, may put a source on any node.
func startSnapshotCluster(t testing.TB, opts storagenode.Options) *storageCluster {
	return startStorageClusterSized(t, map[string]int64{"node-1": 4 * gib, "node-2": 4 * gib, "node-3": 4 * gib}, opts)
}

// startStorageClusterWith starts the cluster with the given options for
// every storage node (pool sizes excepted).
func startStorageClusterWith(t testing.TB, opts storagenode.Options) *storageCluster {
	// The pools count every volume at its full size (sparse or not): node-2
	// and node-3 hold all the claims of TestStorageProvisioning together,
	// node-1 not even one of 1Gi.
	return startStorageClusterSized(t, map[string]int64{"node-1": gib / 2, "node-2": 8 * gib, "node-3": 8 * gib}, opts)
}

// startStorageClusterSized starts the cluster with the given pool sizes;
// tweaks change the control plane's options first.
func startStorageClusterSized(t testing.TB, pools map[string]int64, opts storagenode.Options, tweaks ...func(*controlplane.Options)) *storageCluster {
	root, err := controlplane.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	scheme, err := app.Scheme()
	if err != nil {
		t.Fatal(err)
	}
	cpOpts := controlplane.Options{
		Scheme: scheme,
		Nodes: []controlplane.NodeSpec{
			{Name: "node-1", Zone: "zone-a", Region: "region-1"},
			{Name: "node-2", Zone: "zone-a", Region: "region-1"},
			{Name: "node-3", Zone: "zone-b", Region: "region-1"},
		},
		CRDDirectoryPaths: []string{filepath.Join(root, "config", "crd", "snapshot"), filepath.Join(root, "config", "crd", "bases")},
	}
	for _, tweak := range tweaks {
		tweak(&cpOpts)
	}
	cp := controlplane.StartForTest(t, cpOpts)
	ctx := t.Context()
	if err := cp.WaitForNodesReady(ctx, waitTimeout); err != nil {
		t.Fatal(err)
	}
	if err := storagenode.InstallDriver(ctx, cp); err != nil {
		t.Fatal(err)
	}
	sc := &storageCluster{cp: cp, nodes: map[string]*storagenode.Node{}}
	for name, size := range pools {
		opts.PoolSize = size
		sc.nodes[name] = storagenode.Start(t, cp, name, opts)
	}
	return sc
}

func TestStorageProvisioning(t *testing.T) {
	sc := startStorageCluster(t)
	ctx := t.Context()
	wffc := sc.createClass(t, "plinth-wffc", storagev1.VolumeBindingWaitForFirstConsumer, nil)
	zoneB := sc.createClass(t, "plinth-zone-b", storagev1.VolumeBindingWaitForFirstConsumer, []string{"zone-b"})
	for _, class := range []string{wffc, zoneB} {
		sc.waitForCapacities(t, class)
	}

	t.Run("a pod and its volume land on the same node", func(t *testing.T) {
		ns := sc.namespace(t, "colocated")
		sc.create(t, claim(ns, "data", wffc, "1Gi"), pod(ns, "app", "data"))
		node := sc.waitScheduled(t, ns, "app")
		pv := sc.waitBound(t, ns, "data")
		assertPVOnNode(t, pv, node)
		sc.assertVolumeExists(ctx, t, node, pv.Spec.CSI.VolumeHandle)
		if got := pv.Annotations[volume.AnnDynamicallyProvisioned]; got != wellknown.DriverName {
			t.Errorf("PV provisioned-by = %q, want %q", got, wellknown.DriverName)
		}
	})

	t.Run("capacity tracking keeps pods off a node whose pool is too small", func(t *testing.T) {
		ns := sc.namespace(t, "capacity")
		for _, name := range []string{"a", "b", "c", "d", "e", "f"} {
			sc.create(t, claim(ns, name, wffc, "1Gi"), pod(ns, name, name))
		}
		for _, name := range []string{"a", "b", "c", "d", "e", "f"} {
			if node := sc.waitScheduled(t, ns, name); node == "node-1" {
				t.Errorf("pod %s was scheduled to node-1, whose pool cannot hold 1Gi", name)
			}
			sc.waitBound(t, ns, name)
		}
	})

	t.Run("a class restricted to one zone puts volume and pod in that zone", func(t *testing.T) {
		ns := sc.namespace(t, "zoned")
		sc.create(t, claim(ns, "data", zoneB, "100Mi"), pod(ns, "app", "data"))
		if node := sc.waitScheduled(t, ns, "app"); node != "node-3" {
			t.Errorf("pod scheduled to %s, want node-3 (the only node in zone-b)", node)
		}
		assertPVOnNode(t, sc.waitBound(t, ns, "data"), "node-3")
	})

	t.Run("a clone holds the source's data on the source's node", func(t *testing.T) {
		ns := sc.namespace(t, "clone")
		// A clone takes as much of its source's node as the source: the
		// class keeps both off node-1, which holds one such volume at most.
		sc.create(t, claim(ns, "origin", zoneB, "300Mi"), pod(ns, "origin", "origin"))
		node := sc.waitScheduled(t, ns, "origin")
		originPV := sc.waitBound(t, ns, "origin")
		data := bytes.Repeat([]byte("cloned data\n"), 5000)
		sc.nodes[node].WriteFile(t, originPV, data)
		clone := claim(ns, "copy", zoneB, "300Mi")
		clone.Spec.DataSource = &corev1.TypedLocalObjectReference{Kind: "PersistentVolumeClaim", Name: "origin"}
		sc.create(t, clone, pod(ns, "copy", "copy"))
		pv := sc.waitBound(t, ns, "copy")
		assertPVOnNode(t, pv, node)
		if got := sc.nodes[node].ReadFile(t, pv); !bytes.Equal(got, data) {
			t.Errorf("clone holds %d bytes that differ from the source's %d", len(got), len(data))
		}
		origin := &corev1.PersistentVolumeClaim{}
		poll(t, "cloning protection released", func(ctx context.Context) (bool, error) {
			err := sc.cp.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: "origin"}, origin)
			return err == nil && !slices.Contains(origin.Finalizers, wellknown.FinalizerCloningProtection), err
		})
	})

	t.Run("a claim that asks for more gets a larger volume", func(t *testing.T) {
		ns := sc.namespace(t, "expand")
		// Growing takes room on the volume's node: not node-1's (see the clone).
		sc.create(t, claim(ns, "data", zoneB, "300Mi"), pod(ns, "app", "data"))
		node := sc.waitScheduled(t, ns, "app")
		pv := sc.waitBound(t, ns, "data")
		sc.resize(t, ns, "data", "600Mi")
		want := resource.MustParse("600Mi")
		poll(t, "PV capacity grown", func(ctx context.Context) (bool, error) {
			err := sc.cp.Client.Get(ctx, client.ObjectKeyFromObject(pv), pv)
			capacity := pv.Spec.Capacity[corev1.ResourceStorage]
			return err == nil && capacity.Cmp(want) >= 0, err
		})
		pvc := &corev1.PersistentVolumeClaim{}
		poll(t, "file system resize pending", func(ctx context.Context) (bool, error) {
			err := sc.cp.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: "data"}, pvc)
			return err == nil && pvc.Status.AllocatedResourceStatuses[corev1.ResourceStorage] == corev1.PersistentVolumeClaimNodeResizePending, err
		})
		if size := sc.nodes[node].VolumeSize(t, pv.Spec.CSI.VolumeHandle); size < want.Value() {
			t.Errorf("backend volume has %d bytes after expansion, want at least %d", size, want.Value())
		}
	})

	t.Run("an expansion the pool has no room for yet is retried until room frees", func(t *testing.T) {
		ns := sc.namespace(t, "expand-full")
		// node-2's pool holds two claims of a third of its room each,
		// but not the first grown by half the room while the second is
		// there.
		resp, err := sc.nodes["node-2"].Conn.Controller.GetCapacity(ctx, &csi.GetCapacityRequest{})
		if err != nil {
			t.Fatal(err)
		}
		room := resp.GetAvailableCapacity() >> 20 // MiB
		third, grown := fmt.Sprintf("%dMi", room/3), fmt.Sprintf("%dMi", room/3+room/2)
		onNode2 := func(name string) *corev1.PersistentVolumeClaim {
			pvc := claim(ns, name, wffc, third)
			pvc.Annotations = map[string]string{volume.AnnSelectedNode: "node-2"}
			return pvc
		}
		sc.create(t, onNode2("data"), onNode2("filler"))
		pv := sc.waitBound(t, ns, "data")
		filler := sc.waitBound(t, ns, "filler")
		assertPVOnNode(t, pv, "node-2")
		assertPVOnNode(t, filler, "node-2")
		sc.resize(t, ns, "data", grown)
		sc.waitForEvent(t, ns, "data", expansion.ReasonResizeFailed)
		pvc := &corev1.PersistentVolumeClaim{}
		if err := sc.cp.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: "data"}, pvc); err != nil {
			t.Fatal(err)
		}
		if got := pvc.Status.AllocatedResourceStatuses[corev1.ResourceStorage]; got != corev1.PersistentVolumeClaimControllerResizeInProgress {
			t.Errorf("resize status while the pool is full = %q, want %q (retried, not infeasible)", got, corev1.PersistentVolumeClaimControllerResizeInProgress)
		}
		sc.delete(t, &corev1.PersistentVolumeClaim{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "filler"}})
		sc.waitGone(t, filler)
		want := resource.MustParse(grown)
		poll(t, "PV grown once room freed", func(ctx context.Context) (bool, error) {
			err := sc.cp.Client.Get(ctx, client.ObjectKeyFromObject(pv), pv)
			capacity := pv.Spec.Capacity[corev1.ResourceStorage]
			return err == nil && capacity.Cmp(want) >= 0, err
		})
		poll(t, "claim's controller resize done, its error gone", func(ctx context.Context) (bool, error) {
			err := sc.cp.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: "data"}, pvc)
			return err == nil && pvc.Status.AllocatedResourceStatuses[corev1.ResourceStorage] != corev1.PersistentVolumeClaimControllerResizeInProgress &&
				!slices.ContainsFunc(pvc.Status.Conditions, func(c corev1.PersistentVolumeClaimCondition) bool {
					return c.Type == corev1.PersistentVolumeClaimControllerResizeError
				}), err
		})
	})

	t.Run("a class that does not allow expansion refuses a larger request", func(t *testing.T) {
		fixed := sc.createClass(t, "plinth-fixed", storagev1.VolumeBindingWaitForFirstConsumer, nil)
		class := &storagev1.StorageClass{}
		if err := sc.cp.Client.Get(ctx, client.ObjectKey{Name: fixed}, class); err != nil {
			t.Fatal(err)
		}
		class.AllowVolumeExpansion = ptr.To(false)
		if err := sc.cp.Client.Update(ctx, class); err != nil {
			t.Fatal(err)
		}
		ns := sc.namespace(t, "fixed")
		sc.create(t, claim(ns, "data", fixed, "300Mi"), pod(ns, "app", "data"))
		sc.waitBound(t, ns, "data")
		pvc := &corev1.PersistentVolumeClaim{}
		if err := sc.cp.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: "data"}, pvc); err != nil {
			t.Fatal(err)
		}
		pvc.Spec.Resources.Requests[corev1.ResourceStorage] = resource.MustParse("600Mi")
		if err := sc.cp.Client.Update(ctx, pvc); !apierrors.IsForbidden(err) {
			t.Errorf("growing a claim of a class without allowVolumeExpansion: got %v, want Forbidden", err)
		}
	})

	t.Run("a node without room hands the claim back to the scheduler", func(t *testing.T) {
		ns := sc.namespace(t, "exhausted")
		pvc := claim(ns, "data", wffc, "1Gi")
		// What kube-scheduler would do with stale capacity: pick node-1,
		// whose pool cannot hold 1Gi.
		pvc.Annotations = map[string]string{volume.AnnSelectedNode: "node-1"}
		sc.create(t, pvc)
		poll(t, "selected node removed", func(ctx context.Context) (bool, error) {
			err := sc.cp.Client.Get(ctx, client.ObjectKeyFromObject(pvc), pvc)
			_, selected := pvc.Annotations[volume.AnnSelectedNode]
			return err == nil && !selected, err
		})
		if slices.Contains(pvc.Finalizers, wellknown.FinalizerProvisioning) {
			t.Errorf("claim kept the provisioning finalizer although nothing was created")
		}
		sc.waitForEvent(t, ns, "data", provisioning.ReasonRescheduling)
	})

	t.Run("the Retain policy keeps the volume after claim and PV are deleted", func(t *testing.T) {
		retain := sc.createClass(t, "plinth-retain", storagev1.VolumeBindingWaitForFirstConsumer, nil)
		class := &storagev1.StorageClass{}
		if err := sc.cp.Client.Get(ctx, client.ObjectKey{Name: retain}, class); err != nil {
			t.Fatal(err)
		}
		// reclaimPolicy is immutable: recreate the class with Retain.
		sc.delete(t, class)
		sc.waitGone(t, class)
		class.ResourceVersion, class.UID = "", ""
		class.ReclaimPolicy = ptr.To(corev1.PersistentVolumeReclaimRetain)
		sc.create(t, class)
		ns := sc.namespace(t, "retain")
		sc.create(t, claim(ns, "data", retain, "100Mi"), pod(ns, "app", "data"))
		node := sc.waitScheduled(t, ns, "app")
		pv := sc.waitBound(t, ns, "data")
		sc.deletePod(t, ns, "app")
		sc.delete(t, &corev1.PersistentVolumeClaim{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "data"}})
		poll(t, "PV released", func(ctx context.Context) (bool, error) {
			err := sc.cp.Client.Get(ctx, client.ObjectKeyFromObject(pv), pv)
			return err == nil && pv.Status.Phase == corev1.VolumeReleased, err
		})
		sc.delete(t, pv)
		sc.waitGone(t, pv)
		sc.assertVolumeExists(ctx, t, node, pv.Spec.CSI.VolumeHandle)
	})

	t.Run("deleting a PV still in use keeps its data until the claim goes", func(t *testing.T) {
		ns := sc.namespace(t, "pv-first")
		sc.create(t, claim(ns, "data", wffc, "100Mi"), pod(ns, "app", "data"))
		node := sc.waitScheduled(t, ns, "app")
		pv := sc.waitBound(t, ns, "data")
		sc.delete(t, pv)
		if err := sc.cp.Client.Get(ctx, client.ObjectKeyFromObject(pv), pv); err != nil || pv.DeletionTimestamp.IsZero() {
			t.Fatalf("PV should be terminating and still present: %v", err)
		}
		sc.assertVolumeExists(ctx, t, node, pv.Spec.CSI.VolumeHandle)
		sc.deletePod(t, ns, "app")
		sc.delete(t, &corev1.PersistentVolumeClaim{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "data"}})
		sc.waitGone(t, pv)
		ids, err := sc.nodes[node].Volumes(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if slices.Contains(ids, pv.Spec.CSI.VolumeHandle) {
			t.Errorf("volume %s outlived its PV and claim under the Delete policy", pv.Spec.CSI.VolumeHandle)
		}
	})

	t.Run("deleting the claim deletes the PV and the volume", func(t *testing.T) {
		ns := sc.namespace(t, "reclaim")
		sc.create(t, claim(ns, "data", wffc, "100Mi"), pod(ns, "app", "data"))
		node := sc.waitScheduled(t, ns, "app")
		pv := sc.waitBound(t, ns, "data")
		sc.deletePod(t, ns, "app")
		sc.delete(t, &corev1.PersistentVolumeClaim{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "data"}})
		sc.waitGone(t, pv)
		ids, err := sc.nodes[node].Volumes(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if slices.Contains(ids, pv.Spec.CSI.VolumeHandle) {
			t.Errorf("volume %s still exists on %s after its claim was deleted", pv.Spec.CSI.VolumeHandle, node)
		}
	})
}

func (sc *storageCluster) createClass(t testing.TB, name string, mode storagev1.VolumeBindingMode, zones []string) string {
	class := &storagev1.StorageClass{
		ObjectMeta:           metav1.ObjectMeta{Name: name},
		Provisioner:          wellknown.DriverName,
		VolumeBindingMode:    &mode,
		ReclaimPolicy:        ptr.To(corev1.PersistentVolumeReclaimDelete),
		AllowVolumeExpansion: ptr.To(true),
		Parameters:           map[string]string{"csi.storage.k8s.io/fstype": "xfs"},
	}
	if len(zones) > 0 {
		class.AllowedTopologies = []corev1.TopologySelectorTerm{{MatchLabelExpressions: []corev1.TopologySelectorLabelRequirement{
			{Key: corev1.LabelTopologyZone, Values: zones},
		}}}
	}
	sc.create(t, class)
	return name
}

// waitForCapacities waits until every node allowed by the class has
// published its capacity for it, so the scheduler sees the whole picture.
func (sc *storageCluster) waitForCapacities(t testing.TB, class string) {
	t.Helper()
	poll(t, "capacities of "+class, func(ctx context.Context) (bool, error) {
		list := &storagev1.CSIStorageCapacityList{}
		if err := sc.cp.Client.List(ctx, list, client.InNamespace(storagenode.Namespace)); err != nil {
			return false, err
		}
		n := 0
		for _, c := range list.Items {
			if c.StorageClassName == class {
				n++
			}
		}
		if class == "plinth-zone-b" {
			return n == 1, nil
		}
		return n == len(sc.nodes), nil
	})
}

func (sc *storageCluster) namespace(t testing.TB, name string) string {
	t.Helper()
	if err := sc.cp.CreateNamespace(t.Context(), name); err != nil {
		t.Fatal(err)
	}
	return name
}

func (sc *storageCluster) create(t testing.TB, objs ...client.Object) {
	t.Helper()
	for _, obj := range objs {
		if err := sc.cp.Client.Create(t.Context(), obj); err != nil {
			t.Fatalf("failed to create %T %s: %v", obj, obj.GetName(), err)
		}
	}
}

func (sc *storageCluster) delete(t testing.TB, obj client.Object) {
	t.Helper()
	if err := sc.cp.Client.Delete(t.Context(), obj); err != nil {
		t.Fatalf("failed to delete %T %s: %v", obj, obj.GetName(), err)
	}
}

// waitForEvent waits for an Event of the given reason about an object.
func (sc *storageCluster) waitForEvent(t testing.TB, ns, name, reason string) {
	t.Helper()
	poll(t, "event "+reason+" on "+name, func(ctx context.Context) (bool, error) {
		list := &eventsv1.EventList{}
		if err := sc.cp.Client.List(ctx, list, client.InNamespace(ns)); err != nil {
			return false, err
		}
		return slices.ContainsFunc(list.Items, func(e eventsv1.Event) bool {
			return e.Regarding.Name == name && e.Reason == reason
		}), nil
	})
}

// resize asks for a new size of a claim.
func (sc *storageCluster) resize(t testing.TB, ns, name, size string) {
	t.Helper()
	pvc := &corev1.PersistentVolumeClaim{}
	if err := sc.cp.Client.Get(t.Context(), client.ObjectKey{Namespace: ns, Name: name}, pvc); err != nil {
		t.Fatal(err)
	}
	base := pvc.DeepCopy()
	pvc.Spec.Resources.Requests[corev1.ResourceStorage] = resource.MustParse(size)
	if err := sc.cp.Client.Patch(t.Context(), pvc, client.MergeFrom(base)); err != nil {
		t.Fatalf("failed to resize claim %s: %v", name, err)
	}
}

// deletePod deletes a pod at once, as its kubelet would confirm after the
// containers stopped: simulated nodes run no kubelet.
func (sc *storageCluster) deletePod(t testing.TB, ns, name string) {
	t.Helper()
	p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}}
	if err := sc.cp.Client.Delete(t.Context(), p, client.GracePeriodSeconds(0)); err != nil {
		t.Fatalf("failed to delete pod %s: %v", name, err)
	}
}

func (sc *storageCluster) waitScheduled(t testing.TB, ns, name string) string {
	t.Helper()
	p := &corev1.Pod{}
	poll(t, "pod "+name+" scheduled", func(ctx context.Context) (bool, error) {
		err := sc.cp.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, p)
		return err == nil && p.Spec.NodeName != "", err
	})
	return p.Spec.NodeName
}

func (sc *storageCluster) waitBound(t testing.TB, ns, name string) *corev1.PersistentVolume {
	t.Helper()
	pvc := &corev1.PersistentVolumeClaim{}
	poll(t, "claim "+name+" bound", func(ctx context.Context) (bool, error) {
		err := sc.cp.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, pvc)
		return err == nil && pvc.Status.Phase == corev1.ClaimBound, err
	})
	pv := &corev1.PersistentVolume{}
	if err := sc.cp.Client.Get(t.Context(), client.ObjectKey{Name: pvc.Spec.VolumeName}, pv); err != nil {
		t.Fatal(err)
	}
	return pv
}

func (sc *storageCluster) waitGone(t testing.TB, obj client.Object) {
	t.Helper()
	poll(t, obj.GetName()+" deleted", func(ctx context.Context) (bool, error) {
		err := sc.cp.Client.Get(ctx, client.ObjectKeyFromObject(obj), obj)
		return apierrors.IsNotFound(err), client.IgnoreNotFound(err)
	})
}

func (sc *storageCluster) assertVolumeExists(ctx context.Context, t *testing.T, node, id string) {
	t.Helper()
	ids, err := sc.nodes[node].Volumes(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(ids, id) {
		t.Errorf("volume %s not found in the pool of %s (it has %v)", id, node, ids)
	}
}

func assertPVOnNode(t testing.TB, pv *corev1.PersistentVolume, node string) {
	t.Helper()
	terms := pv.Spec.NodeAffinity.Required.NodeSelectorTerms
	for _, term := range terms {
		for _, expr := range term.MatchExpressions {
			if expr.Key == wellknown.TopologyKeyNode && slices.Equal(expr.Values, []string{node}) {
				return
			}
		}
	}
	t.Errorf("PV %s node affinity %v does not pin it to %s", pv.Name, terms, node)
}

// claim and pod are the objects every scenario creates.
var (
	claim = objects.Claim
	pod   = objects.PodWithClaim
)

func poll(t testing.TB, what string, cond func(context.Context) (bool, error)) {
	t.Helper()
	if err := wait.PollUntilContextTimeout(t.Context(), 100*time.Millisecond, waitTimeout, true, cond); err != nil {
		t.Fatalf("waiting for %s: %v", what, err)
	}
}
