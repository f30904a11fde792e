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

package topology_test

import (
	"context"
	"maps"
	"testing"
	"time"

	"github.com/plinth-dev/plinth/internal/wellknown"

	"github.com/go-logr/logr/testr"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/fake"

	"github.com/plinth-dev/plinth/csi-driver/topology"
)

const (
	zone   = corev1.LabelTopologyZone
	region = corev1.LabelTopologyRegion
)

// watch returns the topology of node n1 followed through an informer on
// client, started for the test's lifetime, once the topology is known.
func watch(t *testing.T, client kubernetes.Interface) *topology.Node {
	t.Helper()
	ctx := t.Context()
	factory := informers.NewSharedInformerFactory(client, 0)
	node := topology.NewNode("n1", testr.New(t))
	if err := node.Watch(ctx, factory.Core().V1().Nodes().Informer()); err != nil {
		t.Fatal(err)
	}
	factory.Start(ctx.Done())
	t.Cleanup(factory.Shutdown)
	waitCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := node.Wait(waitCtx); err != nil {
		t.Fatal(err)
	}
	return node
}

func testNode(labels map[string]string) *corev1.Node {
	return &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "n1", Labels: labels}}
}

// relabel sets the labels of node n1 and waits until the topology changed.
func relabel(t *testing.T, client kubernetes.Interface, node *topology.Node, labels map[string]string) {
	t.Helper()
	changed := node.Changed()
	if _, err := client.CoreV1().Nodes().Update(t.Context(), testNode(labels), metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitClosed(t, changed)
}

// waitClosed fails the test when ch is not closed within ten seconds.
func waitClosed(t *testing.T, ch <-chan struct{}) {
	t.Helper()
	select {
	case <-ch:
	case <-time.After(10 * time.Second):
		t.Fatal("no topology change within 10s")
	}
}

func assertSegments(t *testing.T, node *topology.Node, want map[string]string) {
	t.Helper()
	want[wellknown.TopologyKeyNode] = "n1"
	if got := node.Segments(); !maps.Equal(got, want) {
		t.Errorf("segments = %v, want %v", got, want)
	}
}

func TestNodeFollowsZoneAndRegionLabelsAddedChangedAndRemoved(t *testing.T) {
	client := fake.NewClientset(testNode(map[string]string{"other": "x"}))
	node := watch(t, client)
	assertSegments(t, node, map[string]string{})

	relabel(t, client, node, map[string]string{zone: "z1", region: "r1", "other": "x"})
	assertSegments(t, node, map[string]string{zone: "z1", region: "r1"})

	relabel(t, client, node, map[string]string{zone: "z2", region: "r1"})
	assertSegments(t, node, map[string]string{zone: "z2", region: "r1"})

	relabel(t, client, node, map[string]string{zone: "", region: "r1"})
	assertSegments(t, node, map[string]string{region: "r1"})
}

func TestNodeMissingAtStartIsKnownWithItsNameAndFollowedOnceCreated(t *testing.T) {
	client := fake.NewClientset()
	node := watch(t, client)
	assertSegments(t, node, map[string]string{})

	changed := node.Changed()
	if _, err := client.CoreV1().Nodes().Create(t.Context(), testNode(map[string]string{zone: "z1"}), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitClosed(t, changed)
	assertSegments(t, node, map[string]string{zone: "z1"})
}

func TestSourceWaitsForTheTopologyAndThenReportsItsChanges(t *testing.T) {
	node := topology.NewNode("n1", testr.New(t))
	if node.Segments() != nil {
		t.Errorf("segments of an unwatched node = %v, want nil", node.Segments())
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := node.Source()(ctx); err == nil {
		t.Error("Source answered before the topology was known")
	}

	client := fake.NewClientset(testNode(nil))
	node = watch(t, client)
	relabel(t, client, node, map[string]string{zone: "z1"})
	got, err := node.Source()(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if want := map[string]string{zone: "z1", wellknown.TopologyKeyNode: "n1"}; !maps.Equal(got, want) {
		t.Errorf("Source = %v, want %v", got, want)
	}
}

func TestAdmitsMatchesAPVsNodeAffinityAgainstSegments(t *testing.T) {
	pinned := func(exprs ...corev1.NodeSelectorRequirement) *corev1.VolumeNodeAffinity {
		return &corev1.VolumeNodeAffinity{Required: &corev1.NodeSelector{NodeSelectorTerms: []corev1.NodeSelectorTerm{{MatchExpressions: exprs}}}}
	}
	in := func(key, value string) corev1.NodeSelectorRequirement {
		return corev1.NodeSelectorRequirement{Key: key, Operator: corev1.NodeSelectorOpIn, Values: []string{value}}
	}
	node, zoneA := in(wellknown.TopologyKeyNode, "n1"), in(zone, "a")
	for name, tc := range map[string]struct {
		affinity *corev1.VolumeNodeAffinity
		segments map[string]string
		want     bool
	}{
		"no affinity":                       {nil, map[string]string{}, true},
		"same node and zone":                {pinned(node, zoneA), map[string]string{wellknown.TopologyKeyNode: "n1", zone: "a"}, true},
		"zone added after provisioning":     {pinned(node), map[string]string{wellknown.TopologyKeyNode: "n1", zone: "a"}, true},
		"zone changed after provisioning":   {pinned(node, zoneA), map[string]string{wellknown.TopologyKeyNode: "n1", zone: "b"}, false},
		"zone removed after provisioning":   {pinned(node, zoneA), map[string]string{wellknown.TopologyKeyNode: "n1"}, false},
		"another node":                      {pinned(node), map[string]string{wellknown.TopologyKeyNode: "n2"}, false},
		"empty term matches nothing":        {pinned(), map[string]string{wellknown.TopologyKeyNode: "n1"}, false},
		"unknown operator matches nothing":  {pinned(corev1.NodeSelectorRequirement{Key: zone, Operator: "Near"}), map[string]string{zone: "a"}, false},
		"does-not-exist matches an absence": {pinned(corev1.NodeSelectorRequirement{Key: zone, Operator: corev1.NodeSelectorOpDoesNotExist}), map[string]string{}, true},
	} {
		t.Run(name, func(t *testing.T) {
			if got := topology.Admits(tc.affinity, tc.segments); got != tc.want {
				t.Errorf("Admits = %v, want %v", got, tc.want)
			}
		})
	}
}
