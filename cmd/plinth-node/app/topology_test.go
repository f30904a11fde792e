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

package app_test

import (
	"context"
	"fmt"
	"maps"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/plinth-dev/plinth/internal/wellknown"

	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	storagev1 "k8s.io/api/storage/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/plinth-dev/plinth/cmd/plinth-node/app"
	"github.com/plinth-dev/plinth/test/controlplane"
	"github.com/plinth-dev/plinth/test/objects"
	"github.com/plinth-dev/plinth/test/storagenode"
)

const (
	waitTimeout = 2 * time.Minute
	nodeName    = "node-1"
	zoneKey     = corev1.LabelTopologyZone
	classAny    = "plinth-any"
	classZoneA  = "plinth-zone-a"
)

// TestNodeTopologyFollowsTheNodesZoneLabelWhilePlinthNodeRuns starts
// plinth-node on a Node without a zone, then labels the Node: the capacity,
// new volumes and the kubelet registration must follow without a restart.
// A later change of the zone must leave the existing volume as it is and
// warn about it on the Node.
func TestNodeTopologyFollowsTheNodesZoneLabelWhilePlinthNodeRuns(t *testing.T) {
	cp := startCluster(t)
	node := storagenode.Start(t, cp, nodeName, storagenode.Options{})
	createClass(t, cp, classAny)
	createClass(t, cp, classZoneA, "zone-a")
	waitForCapacities(t, cp, "capacity of the node without a zone", map[string]map[string]string{
		classAny: {wellknown.TopologyKeyNode: nodeName},
	})

	var first *corev1.PersistentVolume
	t.Run("a zone added later reaches capacity, the kubelet and new volumes", func(t *testing.T) {
		registrations := node.Registrations()
		setZone(t, cp, "zone-a")
		waitForCapacities(t, cp, "capacity in zone-a", map[string]map[string]string{
			classAny:   {wellknown.TopologyKeyNode: nodeName, zoneKey: "zone-a"},
			classZoneA: {wellknown.TopologyKeyNode: nodeName, zoneKey: "zone-a"},
		})
		if err := node.WaitForRegistration(t.Context(), registrations); err != nil {
			t.Fatalf("the driver did not register with the kubelet again: %v", err)
		}
		waitForTopologyKeys(t, cp, wellknown.TopologyKeyNode, zoneKey)
		first = provision(t, cp, "first", classZoneA)
		assertAffinity(t, first, "zone-a")
	})
	if first == nil {
		t.FailNow()
	}

	t.Run("a zone changed under a volume leaves the volume and warns on the Node", func(t *testing.T) {
		registrations := node.Registrations()
		setZone(t, cp, "zone-b")
		waitForCapacities(t, cp, "capacity in zone-b, none for the zone-a class", map[string]map[string]string{
			classAny: {wellknown.TopologyKeyNode: nodeName, zoneKey: "zone-b"},
		})
		if err := node.WaitForRegistration(t.Context(), registrations); err != nil {
			t.Fatalf("the driver did not register with the kubelet again: %v", err)
		}
		waitForNodeEvent(t, cp, app.ReasonVolumesKeepTopology, first.Name)
		pv := &corev1.PersistentVolume{}
		if err := cp.Client.Get(t.Context(), client.ObjectKey{Name: first.Name}, pv); err != nil {
			t.Fatal(err)
		}
		assertAffinity(t, pv, "zone-a")
		assertAffinity(t, provision(t, cp, "second", classAny), "zone-b")
	})
}

func startCluster(t *testing.T) *controlplane.ControlPlane {
	t.Helper()
	root, err := controlplane.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	scheme, err := app.Scheme()
	if err != nil {
		t.Fatal(err)
	}
	cp := controlplane.StartForTest(t, controlplane.Options{
		Scheme:            scheme,
		Nodes:             []controlplane.NodeSpec{{Name: nodeName}},
		CRDDirectoryPaths: []string{filepath.Join(root, "config", "crd", "bases")},
	})
	if err := cp.WaitForNodesReady(t.Context(), waitTimeout); err != nil {
		t.Fatal(err)
	}
	if err := storagenode.InstallDriver(t.Context(), cp); err != nil {
		t.Fatal(err)
	}
	return cp
}

// createClass creates a WaitForFirstConsumer class of the driver, limited
// to the given zones when there are any.
func createClass(t *testing.T, cp *controlplane.ControlPlane, name string, zones ...string) {
	t.Helper()
	class := &storagev1.StorageClass{
		ObjectMeta:        metav1.ObjectMeta{Name: name},
		Provisioner:       wellknown.DriverName,
		VolumeBindingMode: ptr.To(storagev1.VolumeBindingWaitForFirstConsumer),
	}
	if len(zones) > 0 {
		class.AllowedTopologies = []corev1.TopologySelectorTerm{{MatchLabelExpressions: []corev1.TopologySelectorLabelRequirement{
			{Key: zoneKey, Values: zones},
		}}}
	}
	if err := cp.Client.Create(t.Context(), class); err != nil {
		t.Fatal(err)
	}
}

// setZone labels the Node with a zone, as an administrator would.
func setZone(t *testing.T, cp *controlplane.ControlPlane, zone string) {
	t.Helper()
	patch := []byte(`{"metadata":{"labels":{"` + zoneKey + `":"` + zone + `"}}}`)
	obj := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: nodeName}}
	if err := cp.Client.Patch(t.Context(), obj, client.RawPatch(types.MergePatchType, patch)); err != nil {
		t.Fatal(err)
	}
}

// waitForCapacities polls until the node's CSIStorageCapacity objects are
// exactly one per class of want, each with the given node topology: no
// object of an old topology, nor of a class the node is not allowed in,
// remains.
func waitForCapacities(t *testing.T, cp *controlplane.ControlPlane, what string, want map[string]map[string]string) {
	t.Helper()
	var last map[string]map[string]string
	poll(t, what, func(ctx context.Context) (bool, error) {
		list := &storagev1.CSIStorageCapacityList{}
		if err := cp.Client.List(ctx, list, client.InNamespace(storagenode.Namespace),
			client.MatchingLabels{wellknown.LabelCapacityManagedBy: wellknown.CapacityManagedBy(nodeName)}); err != nil {
			return false, err
		}
		last = map[string]map[string]string{}
		for _, c := range list.Items {
			if _, dup := last[c.StorageClassName]; dup || c.NodeTopology == nil {
				return false, nil
			}
			last[c.StorageClassName] = c.NodeTopology.MatchLabels
		}
		return maps.EqualFunc(last, want, maps.Equal), nil
	}, func() string { return fmt.Sprint("last seen ", last) })
}

// waitForTopologyKeys polls until the node's CSINode lists the driver with
// the given topology keys, as the kubelet records them at registration.
func waitForTopologyKeys(t *testing.T, cp *controlplane.ControlPlane, keys ...string) {
	t.Helper()
	slices.Sort(keys)
	var last []string
	poll(t, "CSINode topology keys "+strings.Join(keys, ","), func(ctx context.Context) (bool, error) {
		csiNode := &storagev1.CSINode{}
		if err := cp.Client.Get(ctx, client.ObjectKey{Name: nodeName}, csiNode); err != nil {
			return false, client.IgnoreNotFound(err)
		}
		for _, d := range csiNode.Spec.Drivers {
			if d.Name == wellknown.DriverName {
				last = slices.Sorted(slices.Values(d.TopologyKeys))
			}
		}
		return slices.Equal(last, keys), nil
	}, func() string { return "last seen " + strings.Join(last, ",") })
}

// provision creates a claim of class and a pod using it in a new namespace,
// and returns the claim's PV once the claim is bound.
func provision(t *testing.T, cp *controlplane.ControlPlane, name, class string) *corev1.PersistentVolume {
	t.Helper()
	ctx := t.Context()
	if err := cp.CreateNamespace(ctx, name); err != nil {
		t.Fatal(err)
	}
	for _, obj := range []client.Object{objects.Claim(name, "data", class, "100Mi"), objects.PodWithClaim(name, "app", "data")} {
		if err := cp.Client.Create(ctx, obj); err != nil {
			t.Fatal(err)
		}
	}
	pvc := &corev1.PersistentVolumeClaim{}
	poll(t, "claim "+name+"/data bound", func(ctx context.Context) (bool, error) {
		err := cp.Client.Get(ctx, client.ObjectKey{Namespace: name, Name: "data"}, pvc)
		return err == nil && pvc.Status.Phase == corev1.ClaimBound, client.IgnoreNotFound(err)
	}, func() string { return "claim status " + string(pvc.Status.Phase) })
	pv := &corev1.PersistentVolume{}
	if err := cp.Client.Get(ctx, client.ObjectKey{Name: pvc.Spec.VolumeName}, pv); err != nil {
		t.Fatal(err)
	}
	return pv
}

// assertAffinity checks that the PV is pinned to the node in the zone.
func assertAffinity(t *testing.T, pv *corev1.PersistentVolume, zone string) {
	t.Helper()
	want := []corev1.NodeSelectorRequirement{
		{Key: wellknown.TopologyKeyNode, Operator: corev1.NodeSelectorOpIn, Values: []string{nodeName}},
		{Key: zoneKey, Operator: corev1.NodeSelectorOpIn, Values: []string{zone}},
	}
	aff := pv.Spec.NodeAffinity
	if aff == nil || aff.Required == nil || len(aff.Required.NodeSelectorTerms) != 1 ||
		!slices.EqualFunc(aff.Required.NodeSelectorTerms[0].MatchExpressions, want, func(a, b corev1.NodeSelectorRequirement) bool {
			return a.Key == b.Key && a.Operator == b.Operator && slices.Equal(a.Values, b.Values)
		}) {
		t.Errorf("PV %s node affinity = %+v, want one term %+v", pv.Name, aff, want)
	}
}

// waitForNodeEvent polls until an Event with reason about the node names
// the volume.
func waitForNodeEvent(t *testing.T, cp *controlplane.ControlPlane, reason, volume string) {
	t.Helper()
	poll(t, "Event "+reason+" on the Node", func(ctx context.Context) (bool, error) {
		list := &eventsv1.EventList{}
		if err := cp.Client.List(ctx, list); err != nil {
			return false, err
		}
		return slices.ContainsFunc(list.Items, func(e eventsv1.Event) bool {
			return e.Regarding.Kind == "Node" && e.Regarding.Name == nodeName && e.Reason == reason &&
				e.Type == corev1.EventTypeWarning && strings.Contains(e.Note, volume)
		}), nil
	}, func() string { return "" })
}

// poll checks cond until it holds, failing the test with what and the
// description of the last state after waitTimeout.
func poll(t *testing.T, what string, cond func(context.Context) (bool, error), last func() string) {
	t.Helper()
	err := wait.PollUntilContextTimeout(t.Context(), 100*time.Millisecond, waitTimeout, true, func(ctx context.Context) (bool, error) {
		ok, err := cond(ctx)
		if apierrors.IsNotFound(err) {
			return false, nil
		}
		return ok, err
	})
	if err != nil {
		t.Fatalf("waiting for %s: %v; %s", what, err, last())
	}
}
