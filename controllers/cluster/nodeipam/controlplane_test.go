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

package nodeipam_test

import (
	"context"
	"fmt"
	"maps"
	"net/netip"
	"os"
	"slices"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"

	networkv1alpha1 "github.com/plinth-dev/plinth/apis/network/v1alpha1"
	"github.com/plinth-dev/plinth/cmd/plinth-controller/app"
	"github.com/plinth-dev/plinth/controllers/cluster"
	"github.com/plinth-dev/plinth/controllers/cluster/nodeipam"
	"github.com/plinth-dev/plinth/test/controlplane"
)

const (
	waitTimeout = 60 * time.Second
	namespace   = "plinth-system"
)

// Four blocks per family: a /22 in /24s and a /62 in /64s (the defaults).
var podCIDRs = []string{"10.200.0.0/22", "fd00:10:200::/62"}

// TestMain sends controller-runtime's logs to stderr, which go test shows
// for failed packages and with -v.
func TestMain(m *testing.M) {
	ctrl.SetLogger(zap.New(zap.UseDevMode(true), zap.WriteTo(os.Stderr)))
	os.Exit(m.Run())
}

// harness is a control plane and a client that knows Plinth's APIs.
type harness struct {
	cp *controlplane.ControlPlane
	c  client.Client
}

// TestAllocatorOnARealControlPlane runs plinth-controller's manager against
// a control plane whose kube-controller-manager allocates no pod CIDRs.
func TestAllocatorOnARealControlPlane(t *testing.T) {
	h := &harness{cp: controlplane.StartForTest(t, controlplane.Options{
		AllocateNodeCIDRs: ptr.To(false),
		CRDDirectoryPaths: []string{"../../../config/crd/bases"},
		Nodes:             []controlplane.NodeSpec{{Name: "node-1"}, {Name: "node-2"}},
	})}
	ctx := t.Context()
	if err := h.cp.CreateNamespace(ctx, namespace); err != nil {
		t.Fatal(err)
	}
	scheme, err := app.Scheme()
	if err != nil {
		t.Fatal(err)
	}
	if h.c, err = client.New(h.cp.Config, client.Options{Scheme: scheme}); err != nil {
		t.Fatal(err)
	}
	stop := startController(t, h)
	cn := &networkv1alpha1.ClusterNetwork{
		ObjectMeta: metav1.ObjectMeta{Name: nodeipam.ClusterNetworkName},
		Spec:       networkv1alpha1.ClusterNetworkSpec{PodCIDRs: podCIDRs},
	}
	if err := h.c.Create(ctx, cn); err != nil {
		t.Fatal(err)
	}

	t.Run("existing nodes get distinct dual-stack blocks", func(t *testing.T) {
		got := waitForPodCIDRs(ctx, t, h, "node-1", "node-2")
		assertDistinctInRange(t, got)
	})
	t.Run("a node with a CIDR outside the range is warned about and left alone", func(t *testing.T) {
		foreign := &corev1.Node{
			ObjectMeta: metav1.ObjectMeta{Name: "foreign"},
			Spec:       corev1.NodeSpec{PodCIDR: "192.168.7.0/24", PodCIDRs: []string{"192.168.7.0/24"}},
		}
		if err := h.c.Create(ctx, foreign); err != nil {
			t.Fatal(err)
		}
		waitForEvent(ctx, t, h, "foreign", nodeipam.ReasonPodCIDROutsideRange)
		if got := waitForPodCIDRs(ctx, t, h, "foreign")["foreign"]; !slices.Equal(got, foreign.Spec.PodCIDRs) {
			t.Errorf("foreign node's pod CIDRs = %v, want them untouched", got)
		}
	})
	t.Run("new nodes get the remaining blocks and the status counts them", func(t *testing.T) {
		addNodes(ctx, t, h, "node-3", "node-4")
		assertDistinctInRange(t, waitForPodCIDRs(ctx, t, h, "node-1", "node-2", "node-3", "node-4"))
		waitForStatus(ctx, t, h, "four blocks allocated, none free, Ready", func(s *networkv1alpha1.ClusterNetworkStatus) bool {
			return blocksAre(s, 4, 0) && len(s.Allocations) == 4 &&
				meta.IsStatusConditionTrue(s.Conditions, networkv1alpha1.ConditionReady)
		})
	})
	t.Run("exhaustion warns the node and sets Exhausted", func(t *testing.T) {
		addNodes(ctx, t, h, "node-5")
		waitForEvent(ctx, t, h, "node-5", nodeipam.ReasonPodCIDRExhausted)
		waitForStatus(ctx, t, h, "Exhausted and not Ready", func(s *networkv1alpha1.ClusterNetworkStatus) bool {
			return meta.IsStatusConditionTrue(s.Conditions, networkv1alpha1.ConditionExhausted) &&
				meta.IsStatusConditionFalse(s.Conditions, networkv1alpha1.ConditionReady)
		})
		if got := podCIDRsOf(ctx, t, h)["node-5"]; len(got) != 0 {
			t.Errorf("node-5 got %v from an exhausted range", got)
		}
	})
	t.Run("a deleted node's blocks go to the waiting node only after the deletion", func(t *testing.T) {
		freed := podCIDRsOf(ctx, t, h)["node-2"]
		if got := podCIDRsOf(ctx, t, h)["node-5"]; len(got) != 0 {
			t.Fatalf("node-5 got %v before node-2 was deleted", got)
		}
		deleteNode(ctx, t, h, "node-2")
		if got := waitForPodCIDRs(ctx, t, h, "node-5")["node-5"]; !slices.Equal(got, freed) {
			t.Errorf("node-5 got %v, want node-2's freed blocks %v", got, freed)
		}
		waitForStatus(ctx, t, h, "not Exhausted, Ready", func(s *networkv1alpha1.ClusterNetworkStatus) bool {
			return meta.IsStatusConditionFalse(s.Conditions, networkv1alpha1.ConditionExhausted) &&
				meta.IsStatusConditionTrue(s.Conditions, networkv1alpha1.ConditionReady)
		})
	})
	t.Run("a restart rebuilds from the Nodes and reassigns nothing", func(t *testing.T) {
		stop()
		before := podCIDRsOf(ctx, t, h)
		freed := before["node-3"]
		deleteNode(ctx, t, h, "node-3") // while no allocator runs
		addNodes(ctx, t, h, "node-6")
		startController(t, h)
		if got := waitForPodCIDRs(ctx, t, h, "node-6")["node-6"]; !slices.Equal(got, freed) {
			t.Errorf("node-6 got %v, want node-3's freed blocks %v", got, freed)
		}
		after := podCIDRsOf(ctx, t, h)
		delete(before, "node-3")
		delete(after, "node-6")
		if !maps.EqualFunc(before, after, slices.Equal) {
			t.Errorf("pod CIDRs changed across the restart:\nbefore %v\nafter  %v", before, after)
		}
		waitForStatus(ctx, t, h, "four blocks allocated, Ready", func(s *networkv1alpha1.ClusterNetworkStatus) bool {
			return blocksAre(s, 4, 0) && len(s.Allocations) == 4 && s.ObservedGeneration == 1 &&
				meta.IsStatusConditionTrue(s.Conditions, networkv1alpha1.ConditionReady)
		})
	})
}

// startController runs plinth-controller's manager, with only the node
// allocator enabled, until the returned function (or the test's end) stops it.
func startController(t *testing.T, h *harness) (stop func()) {
	t.Helper()
	controllers := cluster.DefaultControllers()
	for i := range controllers {
		controllers[i].Enabled = controllers[i].Name == nodeipam.ControllerName
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- app.Run(ctx, app.Config{
			RestConfig: h.cp.Config, Namespace: namespace, LeaderElection: true,
			MetricsAddress: "0", HealthAddress: "0", Controllers: controllers,
			SkipControllerNameValidation: true,
		})
	}()
	stopped := false
	stop = func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		if err := <-done; err != nil {
			t.Errorf("plinth-controller stopped with an error: %v", err)
		}
	}
	t.Cleanup(stop)
	return stop
}

func addNodes(ctx context.Context, t *testing.T, h *harness, names ...string) {
	t.Helper()
	for _, name := range names {
		if err := h.cp.AddNode(ctx, controlplane.NodeSpec{Name: name}); err != nil {
			t.Fatal(err)
		}
	}
}

func deleteNode(ctx context.Context, t *testing.T, h *harness, name string) {
	t.Helper()
	if err := h.c.Delete(ctx, &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: name}}); err != nil {
		t.Fatal(err)
	}
}

// podCIDRsOf returns every node's pod CIDRs.
func podCIDRsOf(ctx context.Context, t *testing.T, h *harness) map[string][]string {
	t.Helper()
	nodes := &corev1.NodeList{}
	if err := h.c.List(ctx, nodes); err != nil {
		t.Fatal(err)
	}
	out := map[string][]string{}
	for _, n := range nodes.Items {
		if n.Spec.PodCIDR != "" && (len(n.Spec.PodCIDRs) == 0 || n.Spec.PodCIDRs[0] != n.Spec.PodCIDR) {
			t.Errorf("node %s: podCIDR %q is not podCIDRs[0] of %v", n.Name, n.Spec.PodCIDR, n.Spec.PodCIDRs)
		}
		out[n.Name] = n.Spec.PodCIDRs
	}
	return out
}

// waitForPodCIDRs waits until every named node has pod CIDRs and returns them.
func waitForPodCIDRs(ctx context.Context, t *testing.T, h *harness, names ...string) map[string][]string {
	t.Helper()
	var got map[string][]string
	err := wait.PollUntilContextTimeout(ctx, 200*time.Millisecond, waitTimeout, true, func(ctx context.Context) (bool, error) {
		all := podCIDRsOf(ctx, t, h)
		got = map[string][]string{}
		for _, name := range names {
			if len(all[name]) == 0 {
				return false, nil
			}
			got[name] = all[name]
		}
		return true, nil
	})
	if err != nil {
		t.Fatalf("nodes %v did not all get pod CIDRs (have %v): %v", names, got, err)
	}
	return got
}

// assertDistinctInRange checks that every node has one block per family,
// inside the pod CIDRs, and that no two nodes share a block.
func assertDistinctInRange(t *testing.T, got map[string][]string) {
	t.Helper()
	owner := map[string]string{}
	for node, cidrs := range got {
		if len(cidrs) != len(podCIDRs) {
			t.Errorf("node %s has %v, want one block per family", node, cidrs)
		}
		for i, c := range cidrs {
			block := netip.MustParsePrefix(c)
			if !netip.MustParsePrefix(podCIDRs[i]).Contains(block.Addr()) {
				t.Errorf("node %s block %s is outside %s", node, c, podCIDRs[i])
			}
			if other, dup := owner[c]; dup {
				t.Errorf("block %s given to both %s and %s", c, other, node)
			}
			owner[c] = node
		}
	}
}

// waitForEvent waits for an Event with the given reason on a Node.
func waitForEvent(ctx context.Context, t *testing.T, h *harness, node, reason string) {
	t.Helper()
	err := wait.PollUntilContextTimeout(ctx, 200*time.Millisecond, waitTimeout, true, func(ctx context.Context) (bool, error) {
		list := &eventsv1.EventList{}
		if err := h.c.List(ctx, list); err != nil {
			return false, fmt.Errorf("failed to list events: %w", err)
		}
		return slices.ContainsFunc(list.Items, func(e eventsv1.Event) bool {
			return e.Regarding.Kind == "Node" && e.Regarding.Name == node && e.Reason == reason && e.Type == corev1.EventTypeWarning
		}), nil
	})
	if err != nil {
		t.Fatalf("no %s Warning Event on node %s: %v", reason, node, err)
	}
}

// waitForStatus waits until the ClusterNetwork status satisfies ok.
func waitForStatus(ctx context.Context, t *testing.T, h *harness, what string, ok func(*networkv1alpha1.ClusterNetworkStatus) bool) {
	t.Helper()
	cn := &networkv1alpha1.ClusterNetwork{}
	err := wait.PollUntilContextTimeout(ctx, 200*time.Millisecond, waitTimeout, true, func(ctx context.Context) (bool, error) {
		if err := h.c.Get(ctx, client.ObjectKey{Name: nodeipam.ClusterNetworkName}, cn); err != nil {
			return false, fmt.Errorf("failed to get ClusterNetwork: %w", err)
		}
		return ok(&cn.Status), nil
	})
	if err != nil {
		t.Fatalf("ClusterNetwork status is not %s: %+v: %v", what, cn.Status, err)
	}
}

// blocksAre reports whether every pod CIDR has the given block counts.
func blocksAre(s *networkv1alpha1.ClusterNetworkStatus, allocated, free int64) bool {
	if len(s.Blocks) != len(podCIDRs) {
		return false
	}
	for _, b := range s.Blocks {
		if b.Allocated != allocated || b.Free != free {
			return false
		}
	}
	return true
}
