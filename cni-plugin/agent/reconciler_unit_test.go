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

package agent_test

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"k8s.io/client-go/tools/events"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"
	"sigs.k8s.io/controller-runtime/pkg/metrics"

	"github.com/plinth-dev/plinth/cni-plugin/agent"
)

// A failure is returned for the controller's backoff, turns the readiness
// check red and is reported once on the Node; it never stops the caller.
func TestReconcilerReportsFailuresAndRetries(t *testing.T) {
	self := node("n1") // no pod CIDRs yet: Sync leaves the kernel alone
	c := fake.NewClientBuilder().WithObjects(&self).Build()
	dir := t.TempDir()
	a, err := agent.New(agent.Config{NodeName: "n1", Masquerade: true, CNIConfDir: dir, StateFile: filepath.Join(dir, "state")})
	if err != nil {
		t.Fatal(err)
	}
	calls := 0
	resolve := func(_ context.Context, cfg agent.Config) (agent.Config, error) {
		if calls++; calls <= 2 {
			return cfg, errors.New("API server unavailable")
		}
		cfg.ClusterCIDRs, cfg.ClusterCIDRSource = []string{"10.3.0.0/16"}, agent.CIDRSourceKubeadm
		return cfg, nil
	}
	rec := events.NewFakeRecorder(10)
	r := &agent.Reconciler{Client: c, Agent: a, Resolve: resolve, Recorder: rec}
	if r.ReadyzCheck(nil) == nil {
		t.Error("ready before the first sync")
	}
	for range 2 {
		if _, err := r.Reconcile(t.Context(), ctrl.Request{}); err == nil {
			t.Fatal("Reconcile hid the failure from the backoff")
		}
		if err := r.ReadyzCheck(nil); err == nil || !strings.Contains(err.Error(), "API server unavailable") {
			t.Errorf("readiness while failing = %v", err)
		}
	}
	wantEvents(t, rec, "Warning NetworkProgrammingFailed") // once, not per retry

	res, err := r.Reconcile(t.Context(), ctrl.Request{})
	if err != nil || res.RequeueAfter == 0 {
		t.Fatalf("Reconcile after recovery = %v, %v", res, err)
	}
	if err := r.ReadyzCheck(nil); err == nil || !strings.Contains(err.Error(), "pod CIDRs") {
		t.Errorf("readiness of a node without pod CIDRs = %v", err)
	}
	wantEvents(t, rec, "Normal ClusterCIDRs cluster CIDRs from kubeadm-config: [10.3.0.0/16]")
}

func wantEvents(t *testing.T, rec *events.FakeRecorder, want ...string) {
	t.Helper()
	var got []string
	for len(rec.Events) > 0 {
		got = append(got, <-rec.Events)
	}
	if len(got) != len(want) {
		t.Fatalf("events %q, want %q", got, want)
	}
	for i := range want {
		if !strings.HasPrefix(got[i], want[i]) {
			t.Errorf("event %q, want %q", got[i], want[i])
		}
	}
}

// A refused peer pod CIDR is reported once while it stays refused: a
// Warning Event on the refused Node and one increment of the counter with
// its reason, not one per sync.
func TestReconcilerReportsRefusedPeersOnce(t *testing.T) {
	self := node("n1") // no pod CIDRs: Sync leaves the kernel alone
	rogue := node("rogue", "0.0.0.0/0")
	c := fake.NewClientBuilder().WithObjects(&self, ptrTo(node("n2", "10.244.2.0/24")), &rogue).Build()
	dir := t.TempDir()
	a, err := agent.New(agent.Config{NodeName: "n1", ClusterCIDRs: []string{"10.244.0.0/16"}, CNIConfDir: dir, StateFile: filepath.Join(dir, "state")})
	if err != nil {
		t.Fatal(err)
	}
	rec := events.NewFakeRecorder(10)
	r := &agent.Reconciler{Client: c, Agent: a, Recorder: rec}
	before := refusalCount(t, agent.RefusedDefaultRoute)
	for range 3 {
		if _, err := r.Reconcile(t.Context(), ctrl.Request{}); err != nil {
			t.Fatal(err)
		}
	}
	wantEvents(t, rec, "Normal ClusterCIDRs", "Warning PodCIDRRefused refused pod CIDR 0.0.0.0/0 of node rogue: a default route")
	if got := refusalCount(t, agent.RefusedDefaultRoute) - before; got != 1 {
		t.Errorf("refusal counter rose by %v, want 1", got)
	}
}

func ptrTo[T any](v T) *T { return &v }

// refusalCount reads plinth_network_peer_refusals_total{reason}.
func refusalCount(t *testing.T, reason string) float64 {
	t.Helper()
	families, err := metrics.Registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		if f.GetName() != "plinth_network_peer_refusals_total" {
			continue
		}
		for _, m := range f.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "reason" && l.GetValue() == reason {
					return m.GetCounter().GetValue()
				}
			}
		}
	}
	return 0
}
