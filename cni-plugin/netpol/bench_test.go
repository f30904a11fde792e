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
	"fmt"
	"net/netip"
	"slices"
	"testing"
	"time"

	"github.com/containernetworking/plugins/pkg/ns"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/plinth-dev/plinth/cni-plugin/netpol"
	"github.com/plinth-dev/plinth/test/netnstest"
	"github.com/plinth-dev/plinth/test/prereq"
)

const (
	benchPods      = 1000
	benchPolicies  = 200
	benchNSCount   = 10
	benchApps      = 40
	benchRoles     = 5
	iperfSeconds   = 3
	throughputPort = 5201
	// latencySamples policy creations are timed per iteration, so that
	// the default benchtime gives a p99 worth the name.
	latencySamples = 100
)

// benchWorld is benchPods pods on testNode, in benchNSCount namespaces,
// labelled app (benchApps values) and role (benchRoles values), each
// serving a named port "api".
func benchWorld() *world {
	w := &world{}
	for n := range benchNSCount {
		name := fmt.Sprintf("ns%d", n)
		w.namespaces = append(w.namespaces, corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: l("team", fmt.Sprintf("t%d", n%3))}})
	}
	for i := range benchPods {
		v4 := netip.AddrFrom4([4]byte{10, 1, byte(i / 250), byte(i%250 + 2)})
		v6 := netip.MustParseAddr(fmt.Sprintf("fd00:1::%x", i+2))
		w.pods = append(w.pods, corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{Namespace: fmt.Sprintf("ns%d", i%benchNSCount), Name: fmt.Sprintf("p%d", i),
				Labels: l("app", fmt.Sprintf("a%d", i%benchApps), "role", fmt.Sprintf("r%d", i%benchRoles))},
			Spec: corev1.PodSpec{NodeName: testNode, Containers: []corev1.Container{{Name: "c", Ports: []corev1.ContainerPort{
				{Name: "api", ContainerPort: int32(8000 + i%7), Protocol: corev1.ProtocolTCP}}}}},
			Status: corev1.PodStatus{Phase: corev1.PodRunning, PodIPs: []corev1.PodIP{{IP: v4.String()}, {IP: v6.String()}}},
		})
	}
	return w
}

// benchPolicy is policy k: it selects one app of its namespace and allows
// ingress from a role of the namespaces of a team on a port range and the
// named port, and egress to an app anywhere.
func benchPolicy(k int) networkingv1.NetworkPolicy {
	return policy(fmt.Sprintf("ns%d", k%benchNSCount), fmt.Sprintf("pol%d", k), l("app", fmt.Sprintf("a%d", k%benchApps)),
		types(in, out),
		from(peers(bothPeer(l("team", fmt.Sprintf("t%d", k%3)), l("role", fmt.Sprintf("r%d", k%benchRoles))),
			cidrPeer("192.168.0.0/16", fmt.Sprintf("192.168.%d.0/24", k%256))),
			portRange(tcp, int32(8000+k%50), int32(8010+k%50)), namedPort(tcp, "api")),
		to(peers(bothPeer(everyNS, l("app", fmt.Sprintf("a%d", (k+1)%benchApps)))), port(udp, 53), namedPort(tcp, "api")))
}

// BenchmarkPolicyEnforcementLatency measures the time from a policy's
// creation to its enforcement (compile and commit of the transaction)
// on a node with benchPods pods and benchPolicies policies, with p50 and
// p99 over latencySamples creations per iteration.
func BenchmarkPolicyEnforcementLatency(b *testing.B) {
	n := newSimNode(b)
	w := benchWorld()
	var pols []networkingv1.NetworkPolicy
	for k := range benchPolicies {
		pols = append(pols, benchPolicy(k))
	}
	start := time.Now()
	stats := n.apply(b, w, pols)
	initial := time.Since(start)
	var took []time.Duration
	k := benchPolicies
	for b.Loop() {
		for range latencySamples {
			added := append(slices.Clone(pols), benchPolicy(k))
			start := time.Now()
			n.apply(b, w, added)
			took = append(took, time.Since(start))
			n.apply(b, w, pols)
			k++
		}
	}
	slices.Sort(took)
	b.ReportMetric(ms(initial), "initial-ms")
	b.ReportMetric(float64(stats.Rules), "rules")
	b.ReportMetric(float64(stats.Elements), "elements")
	b.ReportMetric(ms(took[len(took)/2]), "p50-ms")
	b.ReportMetric(ms(took[(len(took)*99)/100]), "p99-ms")
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// BenchmarkThroughputWithPolicies measures pod-to-pod TCP throughput on one
// node with benchPolicies policies selecting both pods (ingress of the
// server, egress of the client) against none, in the same run; ratio =
// with / without, median over iterations.
func BenchmarkThroughputWithPolicies(b *testing.B) {
	prereq.Commands(b, "iperf3")
	n := newSimNode(b)
	w := newWorld()
	client, server := w.pod("x", "a"), w.pod("y", "b")
	for i, p := range []*corev1.Pod{client, server} {
		p.Spec.NodeName = testNode
		n.addPod(b, p.Namespace+"/"+p.Name, i, addrOf(p, false), addrOf(p, true))
	}
	var pols []networkingv1.NetworkPolicy
	for k := range benchPolicies {
		pols = append(pols,
			policy("y", fmt.Sprintf("in%d", k), l("pod", "b"), from(peers(bothPeer(l("ns", "x"), l("pod", "a"))), portRange(tcp, int32(5000+k), throughputPort))),
			policy("x", fmt.Sprintf("out%d", k), l("pod", "a"), types(out), to(peers(bothPeer(l("ns", "y"), l("pod", "b"))), portRange(tcp, int32(5000+k), throughputPort))))
	}
	measure := func(ps []networkingv1.NetworkPolicy) float64 {
		n.apply(b, w, ps)
		bps, err := netnstest.Throughput(n.pods["y/b"], n.pods["x/a"], addrOf(server, false).String(), iperfSeconds)
		if err != nil {
			b.Fatal(err)
		}
		return bps
	}
	var with, without, ratios []float64
	for b.Loop() {
		none := measure(nil)
		all := measure(pols)
		with, without, ratios = append(with, all/1e9), append(without, none/1e9), append(ratios, all/none)
	}
	b.ReportMetric(netnstest.Median(with), "policies-Gbit/s")
	b.ReportMetric(netnstest.Median(without), "none-Gbit/s")
	b.ReportMetric(netnstest.Median(ratios), "ratio")
	_ = n.netns.Do(func(ns.NetNS) error { return n.engine.Delete(context.Background()) })
}

// BenchmarkCompile measures compiling benchPolicies policies over benchPods
// pods, all on the node: the part of the enforcement latency spent before
// nftables.
func BenchmarkCompile(b *testing.B) {
	w := benchWorld()
	var pols []networkingv1.NetworkPolicy
	for k := range benchPolicies {
		pols = append(pols, benchPolicy(k))
	}
	in := netpol.Input{NodeName: testNode, Policies: pols, Pods: w.pods, Namespaces: w.namespaces}
	for b.Loop() {
		netpol.Compile(in)
	}
}
