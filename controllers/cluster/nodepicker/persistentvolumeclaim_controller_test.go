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

package nodepicker

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"k8s.io/component-helpers/storage/volume"

	"github.com/plinth-dev/plinth/internal/wellknown"

	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/tools/events"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"

	"github.com/plinth-dev/plinth/test/objects"
)

const (
	testNS    = "apps"
	testClass = "plinth-immediate"
	zoneKey   = corev1.LabelTopologyZone
)

// nodeOpt changes a test node.
type nodeOpt func(*corev1.Node)

func testNode(name, zone string, opts ...nodeOpt) *corev1.Node {
	n := &corev1.Node{
		ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{wellknown.TopologyKeyNode: name, zoneKey: zone}},
		Status: corev1.NodeStatus{Conditions: []corev1.NodeCondition{
			{Type: corev1.NodeReady, Status: corev1.ConditionTrue},
		}},
	}
	for _, opt := range opts {
		opt(n)
	}
	return n
}

func notReady(n *corev1.Node) { n.Status.Conditions[0].Status = corev1.ConditionFalse }

func cordoned(n *corev1.Node) { n.Spec.Unschedulable = true }

func tainted(effect corev1.TaintEffect) nodeOpt {
	return func(n *corev1.Node) {
		n.Spec.Taints = append(n.Spec.Taints, corev1.Taint{Key: "example.com/maintenance", Effect: effect})
	}
}

// capacityOf is a CSIStorageCapacity of a class for one node; an empty
// maxSize means none.
func capacityOf(node, class, size, maxSize string) *storagev1.CSIStorageCapacity {
	c := &storagev1.CSIStorageCapacity{
		ObjectMeta: metav1.ObjectMeta{
			Namespace: "plinth-system", Name: "csisc-" + node + "-" + class,
			Labels: map[string]string{wellknown.LabelCapacityDriverName: wellknown.DriverName},
		},
		NodeTopology:     &metav1.LabelSelector{MatchLabels: map[string]string{wellknown.TopologyKeyNode: node}},
		StorageClassName: class,
		Capacity:         ptr.To(resource.MustParse(size)),
	}
	if maxSize != "" {
		c.MaximumVolumeSize = ptr.To(resource.MustParse(maxSize))
	}
	return c
}

func testStorageClass(name string, mode *storagev1.VolumeBindingMode, zones ...string) *storagev1.StorageClass {
	class := &storagev1.StorageClass{
		ObjectMeta:        metav1.ObjectMeta{Name: name},
		Provisioner:       wellknown.DriverName,
		VolumeBindingMode: mode,
	}
	if len(zones) > 0 {
		class.AllowedTopologies = []corev1.TopologySelectorTerm{{MatchLabelExpressions: []corev1.TopologySelectorLabelRequirement{
			{Key: zoneKey, Values: zones},
		}}}
	}
	return class
}

func testClaim(name, class, size string) *corev1.PersistentVolumeClaim {
	pvc := objects.Claim(testNS, name, class, size)
	pvc.Status.Phase = corev1.ClaimPending
	return pvc
}

func newClient(t *testing.T, objs ...client.Object) client.Client {
	t.Helper()
	return fake.NewClientBuilder().WithScheme(scheme.Scheme).WithObjects(objs...).
		WithIndex(&corev1.PersistentVolumeClaim{}, indexPendingClass, pendingClassKey).Build()
}

// reconcileClaim runs one reconcile of the claim "data" and returns the
// claim afterwards, the result and the Events emitted.
func reconcileClaim(t *testing.T, objs ...client.Object) (*corev1.PersistentVolumeClaim, ctrl.Result, []string) {
	t.Helper()
	c := newClient(t, objs...)
	rec := events.NewFakeRecorder(10)
	p := &Picker{Client: c, Recorder: rec, DriverName: wellknown.DriverName, Backoff: time.Minute}
	key := client.ObjectKey{Namespace: testNS, Name: "data"}
	res, err := p.Reconcile(context.Background(), ctrl.Request{NamespacedName: key})
	if err != nil {
		t.Fatalf("Reconcile: %v", err)
	}
	pvc := &corev1.PersistentVolumeClaim{}
	if err := c.Get(context.Background(), key, pvc); err != nil {
		t.Fatal(err)
	}
	close(rec.Events)
	var got []string
	for e := range rec.Events {
		got = append(got, e)
	}
	return pvc, res, got
}

func TestReconcilePicksTheNodeWithTheMostFreeCapacity(t *testing.T) {
	immediate := testStorageClass(testClass, ptr.To(storagev1.VolumeBindingImmediate))
	threeNodes := []client.Object{testNode("node-a", "zone-a"), testNode("node-b", "zone-a"), testNode("node-c", "zone-b")}
	tests := []struct {
		name  string
		class *storagev1.StorageClass
		nodes []client.Object
		caps  []client.Object
		size  string
		// want is the selected node; empty means none.
		want string
		// warning is part of the Warning Event when no node is selected.
		warning string
	}{
		{
			name: "most free capacity wins", class: immediate, nodes: threeNodes, size: "1Gi",
			caps: []client.Object{capacityOf("node-a", testClass, "2Gi", ""), capacityOf("node-b", testClass, "5Gi", ""), capacityOf("node-c", testClass, "3Gi", "")},
			want: "node-b",
		},
		{
			name: "a nil binding mode means Immediate", class: testStorageClass(testClass, nil), nodes: threeNodes, size: "1Gi",
			caps: []client.Object{capacityOf("node-a", testClass, "2Gi", ""), capacityOf("node-c", testClass, "3Gi", "")},
			want: "node-c",
		},
		{
			name: "a node whose capacity is below the request is skipped", class: immediate, nodes: threeNodes, size: "1Gi",
			caps: []client.Object{capacityOf("node-a", testClass, "512Mi", ""), capacityOf("node-b", testClass, "1Gi", "")},
			want: "node-b",
		},
		{
			name: "a maximumVolumeSize below the request rules the node out", class: immediate, nodes: threeNodes, size: "1Gi",
			caps: []client.Object{capacityOf("node-a", testClass, "10Gi", "512Mi"), capacityOf("node-b", testClass, "2Gi", "1Gi")},
			want: "node-b",
		},
		{
			name: "allowedTopologies restrict the nodes", class: testStorageClass(testClass, ptr.To(storagev1.VolumeBindingImmediate), "zone-b"),
			nodes: threeNodes, size: "1Gi",
			caps: []client.Object{capacityOf("node-a", testClass, "10Gi", ""), capacityOf("node-c", testClass, "2Gi", "")},
			want: "node-c",
		},
		{
			name: "NotReady, cordoned and NoSchedule or NoExecute tainted nodes are skipped", class: immediate, size: "1Gi",
			nodes: []client.Object{
				testNode("node-a", "zone-a", notReady), testNode("node-b", "zone-a", cordoned),
				testNode("node-c", "zone-a", tainted(corev1.TaintEffectNoSchedule)), testNode("node-d", "zone-a", tainted(corev1.TaintEffectNoExecute)),
				testNode("node-e", "zone-a", tainted(corev1.TaintEffectPreferNoSchedule)),
			},
			caps: []client.Object{
				capacityOf("node-a", testClass, "9Gi", ""), capacityOf("node-b", testClass, "9Gi", ""),
				capacityOf("node-c", testClass, "9Gi", ""), capacityOf("node-d", testClass, "9Gi", ""), capacityOf("node-e", testClass, "2Gi", ""),
			},
			want: "node-e",
		},
		{
			name: "ties go to the first node by name", class: immediate, nodes: threeNodes, size: "1Gi",
			caps: []client.Object{capacityOf("node-c", testClass, "4Gi", ""), capacityOf("node-b", testClass, "4Gi", ""), capacityOf("node-a", testClass, "1Gi", "")},
			want: "node-b",
		},
		{
			name: "capacities of other classes and drivers do not count", class: immediate, nodes: threeNodes, size: "1Gi",
			caps: []client.Object{capacityOf("node-a", "other-class", "9Gi", ""), otherDriver(capacityOf("node-b", testClass, "9Gi", "")), capacityOf("node-c", testClass, "2Gi", "")},
			want: "node-c",
		},
		{
			name: "no node has room", class: immediate, nodes: threeNodes, size: "10Gi",
			caps:    []client.Object{capacityOf("node-a", testClass, "2Gi", ""), capacityOf("node-b", testClass, "5Gi", "")},
			warning: "none of the 3 allowed nodes has a capacity of StorageClass plinth-immediate with room for 10Gi",
		},
		{
			name: "no capacity published", class: immediate, nodes: threeNodes, size: "1Gi",
			warning: "none of the 3 allowed nodes",
		},
		{
			name: "no node allowed", class: testStorageClass(testClass, ptr.To(storagev1.VolumeBindingImmediate), "zone-c"),
			nodes: threeNodes, size: "1Gi", caps: []client.Object{capacityOf("node-a", testClass, "2Gi", "")},
			warning: "no Ready, schedulable and untainted node is allowed by the allowedTopologies of StorageClass plinth-immediate",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			objs := append([]client.Object{tt.class, testClaim("data", testClass, tt.size)}, tt.nodes...)
			pvc, res, evs := reconcileClaim(t, append(objs, tt.caps...)...)
			if got := pvc.Annotations[volume.AnnSelectedNode]; got != tt.want {
				t.Errorf("selected node = %q, want %q", got, tt.want)
			}
			if tt.want != "" {
				assertEvent(t, evs, "Normal "+ReasonNodeSelected+" Selected node "+tt.want)
				if res.RequeueAfter != 0 {
					t.Errorf("RequeueAfter = %v after a node was selected, want none", res.RequeueAfter)
				}
				return
			}
			assertEvent(t, evs, "Warning "+ReasonProvisioningFailed+" "+errNoCandidate.Error()+": "+tt.warning)
			if res.RequeueAfter != time.Minute {
				t.Errorf("RequeueAfter = %v without a candidate, want the back-off %v", res.RequeueAfter, time.Minute)
			}
		})
	}
}

func otherDriver(c *storagev1.CSIStorageCapacity) *storagev1.CSIStorageCapacity {
	c.Labels[wellknown.LabelCapacityDriverName] = "other.csi.example.com"
	return c
}

func assertEvent(t *testing.T, evs []string, prefix string) {
	t.Helper()
	if !slices.ContainsFunc(evs, func(e string) bool { return strings.HasPrefix(e, prefix) }) {
		t.Errorf("Events %q, want one starting with %q", evs, prefix)
	}
}

func TestReconcileLeavesClaimsThatAreNotItsOwn(t *testing.T) {
	immediate := testStorageClass(testClass, ptr.To(storagev1.VolumeBindingImmediate))
	foreign := testStorageClass(testClass, ptr.To(storagev1.VolumeBindingImmediate))
	foreign.Provisioner = "other.csi.example.com"
	tests := []struct {
		name   string
		class  *storagev1.StorageClass
		change func(*corev1.PersistentVolumeClaim)
	}{
		{"WaitForFirstConsumer class", testStorageClass(testClass, ptr.To(storagev1.VolumeBindingWaitForFirstConsumer)), nil},
		{"another provisioner's class", foreign, nil},
		{"class not found", testStorageClass("elsewhere", nil), nil},
		{"restore from a snapshot", immediate, func(pvc *corev1.PersistentVolumeClaim) {
			pvc.Spec.DataSource = &corev1.TypedLocalObjectReference{APIGroup: ptr.To("snapshot.storage.k8s.io"), Kind: "VolumeSnapshot", Name: "snap"}
		}},
		{"clone through dataSourceRef", immediate, func(pvc *corev1.PersistentVolumeClaim) {
			pvc.Spec.DataSourceRef = &corev1.TypedObjectReference{Kind: "PersistentVolumeClaim", Name: "origin"}
		}},
		{"node already selected", immediate, func(pvc *corev1.PersistentVolumeClaim) {
			pvc.Annotations = map[string]string{volume.AnnSelectedNode: "node-a"}
		}},
		{"a node holds the provisioning intent", immediate, func(pvc *corev1.PersistentVolumeClaim) {
			pvc.Annotations = map[string]string{wellknown.AnnProvisioningNode: "node-a"}
		}},
		{"bound claim", immediate, func(pvc *corev1.PersistentVolumeClaim) {
			pvc.Spec.VolumeName = "pvc-1"
			pvc.Status.Phase = corev1.ClaimBound
		}},
		{"lost claim", immediate, func(pvc *corev1.PersistentVolumeClaim) { pvc.Status.Phase = corev1.ClaimLost }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pvc := testClaim("data", testClass, "1Gi")
			if tt.change != nil {
				tt.change(pvc)
			}
			before := pvc.Annotations[volume.AnnSelectedNode]
			got, res, evs := reconcileClaim(t, tt.class, pvc, testNode("node-b", "zone-a"), capacityOf("node-b", testClass, "5Gi", ""))
			if after := got.Annotations[volume.AnnSelectedNode]; after != before {
				t.Errorf("selected node changed from %q to %q", before, after)
			}
			if len(evs) != 0 || res.RequeueAfter != 0 {
				t.Errorf("got Events %q and RequeueAfter %v, want neither", evs, res.RequeueAfter)
			}
		})
	}
}

func TestCapacityChangesRequeueTheClaimsWaitingInTheirClass(t *testing.T) {
	waiting := testClaim("waiting", testClass, "1Gi")
	selected := testClaim("selected", testClass, "1Gi")
	selected.Annotations = map[string]string{volume.AnnSelectedNode: "node-a"}
	otherClass := testClaim("other", "another-class", "1Gi")
	restore := testClaim("restore", testClass, "1Gi")
	restore.Spec.DataSource = &corev1.TypedLocalObjectReference{Kind: "PersistentVolumeClaim", Name: "waiting"}
	c := newClient(t, waiting, selected, otherClass, restore)
	p := &Picker{Client: c, Recorder: events.NewFakeRecorder(1), DriverName: wellknown.DriverName}

	reqs := p.claimsOfCapacity(context.Background(), capacityOf("node-a", testClass, "1Gi", ""))
	if len(reqs) != 1 || reqs[0].Name != "waiting" || reqs[0].Namespace != testNS {
		t.Errorf("requests %v, want only %s/waiting", reqs, testNS)
	}
	if !p.isOurCapacity(capacityOf("node-a", testClass, "1Gi", "")) || p.isOurCapacity(otherDriver(capacityOf("node-a", testClass, "1Gi", ""))) {
		t.Error("isOurCapacity must pass exactly the capacities of the picker's driver")
	}
}
