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

package capacity_test

import (
	"context"
	"maps"
	"sync"
	"testing"

	"github.com/container-storage-interface/spec/lib/go/csi"
	"google.golang.org/grpc"
	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"

	"github.com/plinth-dev/plinth/controllers/node/capacity"
	"github.com/plinth-dev/plinth/controllers/node/nodedeps"
)

const (
	driverName = "csi.plinth.dev"
	nodeKey    = "topology.csi.plinth.dev/node"
	zoneKey    = corev1.LabelTopologyZone
	namespace  = "plinth-system"
)

// fakeTopology is a node topology the test changes at will.
type fakeTopology struct {
	mu       sync.Mutex
	segments map[string]string
	changed  chan struct{}
}

func (f *fakeTopology) set(segments map[string]string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.segments = segments
	if f.changed != nil {
		close(f.changed)
	}
	f.changed = make(chan struct{})
}

func (f *fakeTopology) Segments() map[string]string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return maps.Clone(f.segments)
}

func (f *fakeTopology) Changed() <-chan struct{} {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.changed
}

// fakeDriver has room for any volume in the node's topology.
type fakeDriver struct {
	csi.ControllerClient
}

func (fakeDriver) GetCapacity(context.Context, *csi.GetCapacityRequest, ...grpc.CallOption) (*csi.GetCapacityResponse, error) {
	return &csi.GetCapacityResponse{AvailableCapacity: 1 << 30}, nil
}

func class(name string, zones ...string) *storagev1.StorageClass {
	c := &storagev1.StorageClass{ObjectMeta: metav1.ObjectMeta{Name: name}, Provisioner: driverName}
	if len(zones) > 0 {
		c.AllowedTopologies = []corev1.TopologySelectorTerm{{MatchLabelExpressions: []corev1.TopologySelectorLabelRequirement{
			{Key: zoneKey, Values: zones},
		}}}
	}
	return c
}

// reconcileAll reconciles both classes and returns each published class's
// node topology.
func reconcileAll(t *testing.T, p *capacity.Publisher) map[string]map[string]string {
	t.Helper()
	for _, name := range []string{"any", "zone-a"} {
		if _, err := p.Reconcile(t.Context(), ctrl.Request{NamespacedName: client.ObjectKey{Name: name}}); err != nil {
			t.Fatalf("reconcile %s: %v", name, err)
		}
	}
	list := &storagev1.CSIStorageCapacityList{}
	if err := p.Client.List(t.Context(), list, client.InNamespace(namespace)); err != nil {
		t.Fatal(err)
	}
	got := map[string]map[string]string{}
	for _, c := range list.Items {
		if _, dup := got[c.StorageClassName]; dup {
			t.Errorf("two objects for class %s", c.StorageClassName)
		}
		got[c.StorageClassName] = c.NodeTopology.MatchLabels
	}
	return got
}

func TestPublisherFollowsTheNodesTopologyWithOneObjectPerAllowedClass(t *testing.T) {
	scheme := clientgoscheme.Scheme
	node := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "n1", UID: "uid-n1"}}
	topo := &fakeTopology{}
	p := &capacity.Publisher{
		Deps: nodedeps.Deps{
			Client:     fake.NewClientBuilder().WithScheme(scheme).WithObjects(node, class("any"), class("zone-a", "zone-a")).Build(),
			Controller: fakeDriver{}, DriverName: driverName, NodeName: "n1",
		},
		Namespace: namespace, Topology: topo,
	}
	if got := reconcileAll(t, p); len(got) != 0 {
		t.Errorf("published %v before the topology was known", got)
	}
	for _, step := range []struct {
		name     string
		segments map[string]string
		want     map[string]map[string]string
	}{
		{"no zone", map[string]string{nodeKey: "n1"}, map[string]map[string]string{
			"any": {nodeKey: "n1"},
		}},
		{"zone added", map[string]string{nodeKey: "n1", zoneKey: "zone-a"}, map[string]map[string]string{
			"any": {nodeKey: "n1", zoneKey: "zone-a"}, "zone-a": {nodeKey: "n1", zoneKey: "zone-a"},
		}},
		{"zone changed", map[string]string{nodeKey: "n1", zoneKey: "zone-b"}, map[string]map[string]string{
			"any": {nodeKey: "n1", zoneKey: "zone-b"},
		}},
	} {
		topo.set(step.segments)
		if got := reconcileAll(t, p); !maps.EqualFunc(got, step.want, maps.Equal) {
			t.Errorf("%s: published %v, want %v", step.name, got, step.want)
		}
	}
}
