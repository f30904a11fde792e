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

package nodeipam

import (
	"context"
	"slices"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/tools/events"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"

	networkv1alpha1 "github.com/plinth-dev/plinth/apis/network/v1alpha1"
)

func testScheme(t *testing.T) *runtime.Scheme {
	t.Helper()
	s := runtime.NewScheme()
	if err := clientgoscheme.AddToScheme(s); err != nil {
		t.Fatal(err)
	}
	if err := networkv1alpha1.AddToScheme(s); err != nil {
		t.Fatal(err)
	}
	return s
}

func node(name string, cidrs ...string) *corev1.Node {
	n := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: name}}
	if len(cidrs) > 0 {
		n.Spec.PodCIDR, n.Spec.PodCIDRs = cidrs[0], cidrs
	}
	return n
}

func clusterNetwork() *networkv1alpha1.ClusterNetwork {
	return &networkv1alpha1.ClusterNetwork{
		ObjectMeta: metav1.ObjectMeta{Name: ClusterNetworkName, Generation: 1},
		Spec: networkv1alpha1.ClusterNetworkSpec{
			PodCIDRs: []string{"10.0.0.0/23"}, NodeMaskSize: networkv1alpha1.NodeMaskSize{IPv4: 24, IPv6: 64},
		},
	}
}

// cacheAndServer returns a "cache" client and a separate "API server"
// reader, so that a test can make the cache lag behind.
func cacheAndServer(t *testing.T, cached, server []client.Object) (client.Client, client.Client) {
	t.Helper()
	build := func(objs []client.Object) client.Client {
		return fake.NewClientBuilder().WithScheme(testScheme(t)).WithObjects(objs...).
			WithStatusSubresource(&networkv1alpha1.ClusterNetwork{}).Build()
	}
	return build(cached), build(server)
}

func reconcileOnce(t *testing.T, r *Reconciler) {
	t.Helper()
	req := ctrl.Request{NamespacedName: client.ObjectKey{Name: ClusterNetworkName}}
	if _, err := r.Reconcile(context.Background(), req); err != nil {
		t.Fatalf("Reconcile: %v", err)
	}
}

func podCIDRsIn(t *testing.T, c client.Client, name string) []string {
	t.Helper()
	n := &corev1.Node{}
	if err := c.Get(context.Background(), client.ObjectKey{Name: name}, n); err != nil {
		t.Fatal(err)
	}
	return n.Spec.PodCIDRs
}

func TestReconcileDoesNotFreeABlockTheCacheHasNotSeenYet(t *testing.T) {
	// The API server has node-a with the first block; the cache does not
	// know node-a yet.
	cache, server := cacheAndServer(t,
		[]client.Object{clusterNetwork(), node("node-b")},
		[]client.Object{clusterNetwork(), node("node-a", "10.0.0.0/24"), node("node-b")})
	r := &Reconciler{Client: cache, APIReader: server, Recorder: events.NewFakeRecorder(10)}
	reconcileOnce(t, r)
	if got := podCIDRsIn(t, cache, "node-b"); !slices.Equal(got, []string{"10.0.1.0/24"}) {
		t.Errorf("node-b got %v, want the block node-a does not hold", got)
	}
}

func TestReconcileFreesBlocksOnceTheAPIServerConfirmsTheDeletion(t *testing.T) {
	cache, server := cacheAndServer(t,
		[]client.Object{clusterNetwork(), node("node-a", "10.0.0.0/24"), node("node-b", "10.0.1.0/24"), node("node-c")},
		[]client.Object{clusterNetwork(), node("node-a", "10.0.0.0/24"), node("node-b", "10.0.1.0/24")})
	recorder := events.NewFakeRecorder(10)
	r := &Reconciler{Client: cache, APIReader: server, Recorder: recorder}
	reconcileOnce(t, r)
	if got := podCIDRsIn(t, cache, "node-c"); len(got) != 0 {
		t.Fatalf("node-c got %v from an exhausted range", got)
	}
	if e := <-recorder.Events; !strings.Contains(e, ReasonPodCIDRExhausted) {
		t.Errorf("event = %q, want %s", e, ReasonPodCIDRExhausted)
	}
	assertCondition(t, cache, networkv1alpha1.ConditionExhausted, metav1.ConditionTrue)

	for _, c := range []client.Client{cache, server} {
		if err := c.Delete(context.Background(), node("node-a")); err != nil {
			t.Fatal(err)
		}
	}
	reconcileOnce(t, r)
	if got := podCIDRsIn(t, cache, "node-c"); !slices.Equal(got, []string{"10.0.0.0/24"}) {
		t.Errorf("node-c got %v, want node-a's freed block", got)
	}
	assertCondition(t, cache, networkv1alpha1.ConditionExhausted, metav1.ConditionFalse)
	assertCondition(t, cache, networkv1alpha1.ConditionReady, metav1.ConditionTrue)
}

func assertCondition(t *testing.T, c client.Client, condType string, want metav1.ConditionStatus) {
	t.Helper()
	cn := &networkv1alpha1.ClusterNetwork{}
	if err := c.Get(context.Background(), client.ObjectKey{Name: ClusterNetworkName}, cn); err != nil {
		t.Fatal(err)
	}
	if got := meta.FindStatusCondition(cn.Status.Conditions, condType); got == nil || got.Status != want {
		t.Errorf("condition %s = %+v, want status %s", condType, got, want)
	}
	if cn.Status.ObservedGeneration != cn.Generation {
		t.Errorf("observedGeneration = %d, want %d", cn.Status.ObservedGeneration, cn.Generation)
	}
}
