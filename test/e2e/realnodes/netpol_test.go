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

package realnodes

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/plinth-dev/plinth/test/devcluster"
)

// TestNetworkPolicyIsEnforcedOnRealNodes: with the chart's defaults, the
// node agents enforce NetworkPolicy on real pods. A default-deny ingress
// policy on the remote pod cuts off both other pods (one on its node, one
// on the other); a policy allowing app=first lets that pod in again and
// keeps the neighbour out; deleting the policies restores connectivity.
func TestNetworkPolicyIsEnforcedOnRealNodes(t *testing.T) {
	e := cluster(t)
	ns := e.namespace(t, "net-policy")
	pods := e.echoTrio(t, ns)
	e.expectReply(t, ns, pods.first.Name, pods.remote)
	e.expectReply(t, ns, pods.neighbour.Name, pods.remote)

	deny := ingressPolicy(ns, "deny-remote", "remote")
	e.create(t, deny)
	e.expectRefused(t, ns, pods.first.Name, pods.remote)
	e.expectRefused(t, ns, pods.neighbour.Name, pods.remote)
	e.expectReply(t, ns, pods.remote.Name, pods.first) // egress of remote is not isolated

	allow := ingressPolicy(ns, "allow-first", "remote", networkingv1.NetworkPolicyPeer{
		PodSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "first"}},
	})
	e.create(t, allow)
	e.expectReply(t, ns, pods.first.Name, pods.remote)
	e.expectRefused(t, ns, pods.neighbour.Name, pods.remote)

	for _, p := range []client.Object{deny, allow} {
		if err := e.client.Delete(t.Context(), p); err != nil {
			t.Fatal(err)
		}
	}
	e.expectReply(t, ns, pods.neighbour.Name, pods.remote)
}

// TestNetworkPolicySwitchTurnsEnforcementOffAndOn: `helm upgrade --set
// network.networkPolicy=false` rolls plinth-node out with enforcement off,
// and the nodes remove their policy rules: a deny-all policy no longer
// cuts the pod off. Turned on again, the same policy is enforced again.
func TestNetworkPolicySwitchTurnsEnforcementOffAndOn(t *testing.T) {
	e := cluster(t)
	ns := e.namespace(t, "net-policy-switch")
	pods := e.echoTrio(t, ns)
	e.create(t, ingressPolicy(ns, "deny-remote", "remote"))
	e.expectRefused(t, ns, pods.neighbour.Name, pods.remote)

	enforced := true
	t.Cleanup(func() {
		if !enforced { // leave the cluster as the other tests expect it
			e.setNetworkPolicy(t, true)
		}
	})
	e.setNetworkPolicy(t, false)
	enforced = false
	e.expectReply(t, ns, pods.neighbour.Name, pods.remote)
	e.expectReply(t, ns, pods.first.Name, pods.remote)

	e.setNetworkPolicy(t, true)
	enforced = true
	e.expectRefused(t, ns, pods.neighbour.Name, pods.remote)
	e.expectRefused(t, ns, pods.first.Name, pods.remote)
}

// setNetworkPolicy upgrades the release with network.networkPolicy set to
// on, keeping its other values, and waits for the rollout.
func (e *env) setNetworkPolicy(t testing.TB, on bool) {
	t.Helper()
	chart := filepath.Join(e.repo, "charts", "plinth")
	out, err := devcluster.Helm(context.Background(), e.cluster, e.helm, "upgrade", devcluster.Release, chart, "-n", releaseNS,
		"--reuse-values", "--set", fmt.Sprintf("network.networkPolicy=%t", on), "--wait", "--timeout", "5m")
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("helm upgrade network.networkPolicy=%t: %s", on, strings.TrimSpace(out))
}

// ingressPolicy selects the pod app=target for ingress and allows from the
// given peers (none: deny all ingress).
func ingressPolicy(ns, name, target string, from ...networkingv1.NetworkPolicyPeer) *networkingv1.NetworkPolicy {
	var rules []networkingv1.NetworkPolicyIngressRule
	if len(from) > 0 {
		rules = []networkingv1.NetworkPolicyIngressRule{{From: from}}
	}
	return &networkingv1.NetworkPolicy{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec: networkingv1.NetworkPolicySpec{
			PodSelector: metav1.LabelSelector{MatchLabels: map[string]string{"app": target}},
			PolicyTypes: []networkingv1.PolicyType{networkingv1.PolicyTypeIngress},
			Ingress:     rules,
		},
	}
}

// deniedInARow is how many connection attempts in a row must fail before a
// path counts as closed: one failure could be a slow pod.
const deniedInARow = 3

// expectRefused waits until from can no longer reach the echo server of
// pod to: deniedInARow attempts in a row get no answer.
func (e *env) expectRefused(t testing.TB, ns, from string, to *corev1.Pod) {
	t.Helper()
	ip := e.podIP(t, to)
	failures := 0
	e.poll(t, fmt.Sprintf("%s to be cut off from %s at %s:%d", from, to.Name, ip, echoPort), func(ctx context.Context) (bool, error) {
		out, err := e.fetch(ctx, ns, from, ip.String(), echoPort)
		if err == nil && out != "" {
			failures = 0
			return false, fmt.Errorf("still answered: %q", out)
		}
		failures++
		return failures >= deniedInARow, nil
	})
}
