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

package netpol_test

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/config"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"
	"sigs.k8s.io/knftables"

	"github.com/plinth-dev/plinth/cni-plugin/netpol"
	"github.com/plinth-dev/plinth/test/controlplane"
	"github.com/plinth-dev/plinth/test/netnstest"
)

// lockedNFT serialises a fake table between the controller and the test.
type lockedNFT struct {
	mu sync.Mutex
	*knftables.Fake
}

func (l *lockedNFT) Run(ctx context.Context, tx *knftables.Transaction) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.Fake.Run(ctx, tx)
}

func (l *lockedNFT) dump() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.Dump()
}

// TestControllerFollowsTheAPIServer runs the controller against a real API
// server: a pod that reports its address is classified, a policy created
// isolates it, and the policy's deletion lifts the isolation.
func TestControllerFollowsTheAPIServer(t *testing.T) {
	scheme := runtime.NewScheme()
	if err := clientgoscheme.AddToScheme(scheme); err != nil {
		t.Fatal(err)
	}
	cp := controlplane.StartForTest(t, controlplane.Options{Scheme: scheme, AllocateNodeCIDRs: ptr.To(false)})
	mgr, err := ctrl.NewManager(cp.Config, ctrl.Options{
		Scheme: scheme, Metrics: metricsserver.Options{BindAddress: "0"}, HealthProbeBindAddress: "0",
		Controller: config.Controller{SkipNameValidation: ptr.To(true)},
	})
	if err != nil {
		t.Fatal(err)
	}
	nft := &lockedNFT{Fake: knftables.NewFake(knftables.InetFamily, netpol.DefaultTable)}
	c := &netpol.Controller{NodeName: "node-1", Engine: netpol.NewEngine(nft, "")}
	if err := c.SetupWithManager(mgr); err != nil {
		t.Fatal(err)
	}
	ctx, stop := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- mgr.Start(ctx) }()
	t.Cleanup(func() { stop(); <-done })

	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "x", Labels: map[string]string{"ns": "x"}}}
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Namespace: "x", Name: "a", Labels: map[string]string{"pod": "a"}},
		Spec:       corev1.PodSpec{NodeName: "node-1", Containers: []corev1.Container{{Name: "c", Image: "pause"}}},
	}
	if err := cp.Client.Create(t.Context(), ns); err != nil {
		t.Fatal(err)
	}
	// Admission refuses pods until the namespace's default service account
	// exists.
	if err := netnstest.Eventually(30*time.Second, func() error { return cp.Client.Create(t.Context(), pod) }); err != nil {
		t.Fatal(err)
	}
	pod.Status = corev1.PodStatus{Phase: corev1.PodRunning, PodIP: "10.0.1.2", PodIPs: []corev1.PodIP{{IP: "10.0.1.2"}, {IP: "fd00:1::2"}}}
	if err := cp.Client.Status().Update(t.Context(), pod); err != nil {
		t.Fatal(err)
	}
	waitFor(t, nft, "classified", func(d string) bool { return strings.Contains(d, "np-known-4 { 10.0.1.2 }") })
	pol := policy("x", "deny", nil, types(in))
	start := time.Now()
	if err := cp.Client.Create(t.Context(), &pol); err != nil {
		t.Fatal(err)
	}
	waitFor(t, nft, "isolated", func(d string) bool { return strings.Contains(d, "jump np-in-") })
	t.Logf("policy enforced %v after its creation", time.Since(start))
	if err := cp.Client.Delete(t.Context(), &pol); err != nil {
		t.Fatal(err)
	}
	waitFor(t, nft, "no longer isolated", func(d string) bool { return !strings.Contains(d, "jump np-in-") })
}

func waitFor(t *testing.T, nft *lockedNFT, what string, cond func(string) bool) {
	t.Helper()
	err := netnstest.Eventually(30*time.Second, func() error {
		if !cond(nft.dump()) {
			return context.DeadlineExceeded
		}
		return nil
	})
	if err != nil {
		t.Fatalf("never %s:\n%s", what, nft.dump())
	}
}
