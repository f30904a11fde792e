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

package app

import (
	"context"
	"errors"
	"fmt"
	"os/exec"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/knftables"

	"github.com/plinth-dev/plinth/cni-plugin/netpol"
)

// programmedTable is the node's table after an earlier run enforced a
// deny-all policy on one pod, with a rule of the network agent beside it.
func programmedTable(t *testing.T) *knftables.Fake {
	t.Helper()
	nft := knftables.NewFake(knftables.InetFamily, netpol.DefaultTable)
	tx := nft.NewTransaction()
	tx.Add(&knftables.Table{})
	tx.Add(&knftables.Chain{Name: "agent-postrouting"})
	if err := nft.Run(t.Context(), tx); err != nil {
		t.Fatal(err)
	}
	pod := corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Namespace: "x", Name: "a"},
		Spec:       corev1.PodSpec{NodeName: "node-1"},
		Status:     corev1.PodStatus{Phase: corev1.PodRunning, PodIPs: []corev1.PodIP{{IP: "10.0.0.5"}}},
	}
	deny := networkingv1.NetworkPolicy{
		ObjectMeta: metav1.ObjectMeta{Namespace: "x", Name: "deny"},
		Spec:       networkingv1.NetworkPolicySpec{PolicyTypes: []networkingv1.PolicyType{networkingv1.PolicyTypeIngress}},
	}
	ns := corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "x"}}
	prog := netpol.Compile(netpol.Input{
		NodeName: "node-1", Pods: []corev1.Pod{pod}, Policies: []networkingv1.NetworkPolicy{deny}, Namespaces: []corev1.Namespace{ns},
	})
	if _, err := netpol.NewEngine(nft, "").Apply(t.Context(), prog); err != nil {
		t.Fatal(err)
	}
	if nft.Table == nil || len(nft.Table.Chains) < 3 {
		t.Fatalf("the deny-all policy programmed no chains:\n%s", nft.Dump())
	}
	return nft
}

// With --network-policy=false the node removes what an earlier run
// programmed, retrying through failures, and leaves the agent's own
// objects alone.
func TestPolicyOffRemovesTheRulesOfAnEarlierRun(t *testing.T) {
	nft := programmedTable(t)
	// More failures than a capped wait.Backoff allows steps: the node
	// keeps trying at the cap.
	const failures = 12
	calls := 0
	open := func() (*netpol.Engine, error) {
		if calls++; calls <= failures {
			return nil, fmt.Errorf("nft is busy")
		}
		return netpol.NewEngine(nft, ""), nil
	}
	if err := removePolicyRules(t.Context(), open, time.Microsecond, 4*time.Microsecond); err != nil {
		t.Fatal(err)
	}
	if calls != failures+1 {
		t.Errorf("opened the table %d times, want %d (every failure, then success)", calls, failures+1)
	}
	var left []string
	for name := range nft.Table.Chains {
		left = append(left, name)
	}
	if len(left) != 1 || left[0] != "agent-postrouting" {
		t.Errorf("chains left in the table: %v, want the agent's alone:\n%s", left, nft.Dump())
	}
	if strings.Contains(nft.Dump(), "10.0.0.5") {
		t.Errorf("the pod's address is still in the table:\n%s", nft.Dump())
	}
}

// A node without nft has nothing to remove; a stop before the removal
// succeeds is no error (the next start tries again).
func TestPolicyOffWithoutNFTOrStopped(t *testing.T) {
	noNFT := func() (*netpol.Engine, error) { return nil, fmt.Errorf("open: %w", exec.ErrNotFound) }
	if err := removePolicyRules(t.Context(), noNFT, time.Millisecond, time.Millisecond); err != nil {
		t.Errorf("without nft: %v", err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	failing := func() (*netpol.Engine, error) {
		cancel()
		return nil, errors.New("nft is busy")
	}
	if err := removePolicyRules(ctx, failing, time.Millisecond, time.Millisecond); err != nil {
		t.Errorf("stopped while failing: %v", err)
	}
}
