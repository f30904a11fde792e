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
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// policyCase is one scenario of the matrix tests, after upstream's
// NetworkPolicy e2e.
type policyCase struct {
	name     string
	policies []networkingv1.NetworkPolicy
	// mutate changes the world before the policies apply: pods or
	// namespaces relabelled.
	mutate func(*world)
	// problems is how many policy parts cannot be enforced.
	problems int
	// allowsAll marks the cases whose policies deny nothing.
	allowsAll bool
}

func pols(ps ...networkingv1.NetworkPolicy) []networkingv1.NetworkPolicy { return ps }

var everyNS = map[string]string{}

// policyCases are the scenarios; each is checked on its full matrix.
var policyCases = []policyCase{
	{name: "no policy allows everything"},
	{name: "default deny ingress", policies: pols(policy("x", "deny", nil, types(in)))},
	{name: "default deny egress", policies: pols(policy("x", "deny", nil, types(out)))},
	{name: "default deny ingress and egress", policies: pols(policy("x", "deny", nil, types(in, out)))},
	{name: "allow all ingress", allowsAll: true, policies: pols(policy("x", "deny", nil, types(in)), policy("x", "all", nil, from(anyPeer)))},
	{name: "allow all egress", allowsAll: true, policies: pols(policy("x", "deny", nil, types(out)), policy("x", "all", nil, types(out), to(anyPeer)))},
	{name: "deny ingress to one pod", policies: pols(policy("x", "deny-a", l("pod", "a"), types(in)))},
	{name: "allow ingress from a pod of the namespace",
		policies: pols(policy("x", "p", l("pod", "a"), from(peers(podPeer(l("pod", "b"))))))},
	{name: "allow ingress from a namespace",
		policies: pols(policy("x", "p", l("pod", "a"), from(peers(nsPeer(l("ns", "y"))))))},
	{name: "allow ingress from a pod of another namespace (both selectors)",
		policies: pols(policy("x", "p", l("pod", "a"), from(peers(bothPeer(l("ns", "y"), l("pod", "b"))))))},
	{name: "allow ingress from a namespace or a pod (two peers)",
		policies: pols(policy("x", "p", l("pod", "a"), from(peers(nsPeer(l("ns", "y")), podPeer(l("pod", "b"))))))},
	{name: "allow ingress from every namespace", allowsAll: true,
		policies: pols(policy("x", "p", nil, from(peers(nsPeer(everyNS)))))},
	{name: "allow ingress from a pod label in every namespace",
		policies: pols(policy("x", "p", nil, from(peers(bothPeer(everyNS, l("pod", "b"))))))},
	{name: "namespace selector with NotIn",
		policies: pols(policy("x", "p", l("pod", "a"), from(peers(exprPeer(
			&metav1.LabelSelectorRequirement{Key: "ns", Operator: metav1.LabelSelectorOpNotIn, Values: []string{"y"}}, nil)))))},
	{name: "pod selector with In",
		policies: pols(policy("x", "p", l("pod", "a"), from(peers(exprPeer(nil,
			&metav1.LabelSelectorRequirement{Key: "pod", Operator: metav1.LabelSelectorOpIn, Values: []string{"a", "b"}})))))},
	{name: "pod selector with Exists across namespaces",
		policies: pols(policy("y", "p", nil, from(peers(exprPeer(
			&metav1.LabelSelectorRequirement{Key: "ns", Operator: metav1.LabelSelectorOpExists},
			&metav1.LabelSelectorRequirement{Key: "pod", Operator: metav1.LabelSelectorOpDoesNotExist})))))},
	{name: "ingress on port 80 only", policies: pols(policy("x", "p", nil, from(anyPeer, port(tcp, 80))))},
	{name: "ingress on UDP 81 only", policies: pols(policy("x", "p", nil, from(anyPeer, port(udp, 81))))},
	{name: "ingress on a port without protocol means TCP", policies: pols(policy("x", "p", nil, from(anyPeer, defaultProtocol(81))))},
	{name: "ingress on a named port", policies: pols(policy("x", "p", nil, from(anyPeer, namedPort(tcp, "serve-80-tcp"))))},
	{name: "ingress on a named UDP port", policies: pols(policy("x", "p", nil, from(anyPeer, namedPort(udp, "serve-81-udp"))))},
	{name: "ingress on a named port resolved per pod", policies: pols(policy("x", "p", nil, from(anyPeer, namedPort(tcp, "web"))))},
	{name: "ingress on a named port no pod has", policies: pols(policy("x", "p", nil, from(anyPeer, namedPort(tcp, "nope"))))},
	{name: "ingress on a named port of the wrong protocol", policies: pols(policy("x", "p", nil, from(anyPeer, namedPort(udp, "serve-80-tcp"))))},
	{name: "ingress on a port range", policies: pols(policy("x", "p", nil, from(anyPeer, portRange(tcp, 80, 81))))},
	{name: "ingress on a port range starting above 80", policies: pols(policy("x", "p", nil, from(anyPeer, portRange(udp, 81, 90))))},
	{name: "ingress on every UDP port", policies: pols(policy("x", "p", nil, from(anyPeer, allPortsOf(udp))))},
	{name: "SCTP only denies TCP and UDP", policies: pols(policy("x", "p", nil, from(anyPeer, port(sctp, 80))))},
	{name: "policies add up", policies: pols(
		policy("x", "p1", l("pod", "a"), from(peers(podPeer(l("pod", "b"))))),
		policy("x", "p2", l("pod", "a"), from(peers(nsPeer(l("ns", "y"))), port(udp, 80))))},
	{name: "rules add up", policies: pols(policy("x", "p", l("pod", "c"),
		from(peers(bothPeer(l("ns", "z"), l("pod", "c"))), port(tcp, 80)),
		from(peers(nsPeer(l("ns", "y"))), allPortsOf(udp))))},
	{name: "both policy types with only ingress rules deny all egress",
		policies: pols(policy("x", "p", l("pod", "a"), types(in, out), from(anyPeer)))},
	{name: "egress to other namespaces only",
		policies: pols(policy("x", "p", nil, types(out), to(peers(exprPeer(
			&metav1.LabelSelectorRequirement{Key: "ns", Operator: metav1.LabelSelectorOpNotIn, Values: []string{"y"}}, nil)))))},
	{name: "egress to pods a on port 80",
		policies: pols(policy("y", "p", nil, types(out), to(peers(bothPeer(everyNS, l("pod", "a"))), port(tcp, 80))))},
	{name: "egress to a named port anywhere",
		policies: pols(policy("x", "p", nil, types(out), to(anyPeer, namedPort(tcp, "web"))))},
	{name: "egress to a named port of selected pods",
		policies: pols(policy("z", "p", l("pod", "b"), types(out), to(peers(nsPeer(l("ns", "x"))), namedPort(udp, "serve-81-udp"))))},
	{name: "egress mixing numbers and names",
		policies: pols(policy("x", "p", nil, types(out), to(peers(podPeer(l("pod", "c"))), port(udp, 80), namedPort(tcp, "serve-81-tcp"))))},
	{name: "ingress from an ipBlock (IPv4 only)",
		policies: pols(policy("x", "p", nil, from(peers(cidrPeer("10.0.2.0/24")))))},
	{name: "ingress from an ipBlock with except",
		policies: pols(policy("x", "p", nil, from(peers(cidrPeer("10.0.0.0/16", "10.0.2.0/24", "10.0.3.4/32")))))},
	{name: "ingress from an IPv6 ipBlock with except",
		policies: pols(policy("x", "p", nil, from(peers(cidrPeer("fd00::/16", "fd00:3::/64")))))},
	{name: "egress to everything but a namespace's CIDR",
		policies: pols(policy("y", "p", nil, types(out), to(peers(cidrPeer("0.0.0.0/0", "10.0.1.0/24"), cidrPeer("::/0")))))},
	{name: "egress to overlapping ipBlocks and pods",
		policies: pols(policy("z", "p", nil, types(out),
			to(peers(cidrPeer("10.0.1.0/25", "10.0.1.3/32"), cidrPeer("10.0.1.0/24", "10.0.1.0/30"), podPeer(l("pod", "a"))), port(tcp, 81))))},
	{name: "egress-only policy ignores its ingress rules",
		policies: pols(policy("x", "p", l("pod", "b"), types(out), from(anyPeer), to(peers(nsPeer(l("ns", "z"))))))},
	{name: "empty pod selector in another namespace and pod peer",
		policies: pols(policy("z", "p", nil, from(peers(podPeer(l("pod", "a"))))))},
	{name: "deny ingress in one namespace and egress in another",
		policies: pols(policy("x", "in", nil, types(in)), policy("y", "out", nil, types(out)))},
	{name: "namespace selector no namespace matches",
		policies: pols(policy("x", "p", nil, from(peers(nsPeer(l("ns", "nowhere"))))))},
	{name: "default deny egress with UDP 80 to a namespace",
		policies: pols(policy("x", "deny", nil, types(out)), policy("x", "p", nil, types(out), to(peers(nsPeer(l("ns", "z"))), port(udp, 80))))},
	{name: "pod relabelled into a selector",
		mutate:   func(w *world) { w.pod("y", "c").Labels["pod"] = "b" },
		policies: pols(policy("x", "p", nil, from(peers(bothPeer(everyNS, l("pod", "b"))))))},
	{name: "pod relabelled out of a policy's pod selector", allowsAll: true,
		mutate:   func(w *world) { w.pod("x", "a").Labels = map[string]string{"pod": "gone"} },
		policies: pols(policy("x", "p", l("pod", "a"), types(in, out)))},
	{name: "namespace relabelled into a selector",
		mutate:   func(w *world) { w.namespace("z").Labels["team"] = "blue" },
		policies: pols(policy("x", "p", nil, from(peers(nsPeer(l("team", "blue"))))))},
	{name: "endPort with a named port cannot be enforced", problems: 1,
		policies: pols(policy("x", "p", nil, from(anyPeer, func() networkingv1.NetworkPolicyPort {
			p := namedPort(tcp, "web")
			end := int32(90)
			p.EndPort = &end
			return p
		}())))},
	{name: "an unknown protocol cannot be enforced but the rest is", problems: 1,
		policies: pols(policy("x", "p", nil, from(anyPeer, port("ICMP", 1), port(udp, 80))))},
}
