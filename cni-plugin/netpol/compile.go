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

package netpol

import (
	"cmp"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/netip"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// Input is the cluster state a node's policy is compiled from.
type Input struct {
	// NodeName is the node whose pods the program filters.
	NodeName string
	// Policies, Pods and Namespaces are the cluster's; pods of every node
	// are peers, the node's own are filtered.
	Policies   []networkingv1.NetworkPolicy
	Pods       []corev1.Pod
	Namespaces []corev1.Namespace
}

// podInfo is a pod on the pod network with its addresses.
type podInfo struct {
	pod *corev1.Pod
	key types.NamespacedName
	ips []netip.Addr
}

type compiler struct {
	in        Input
	nsLabels  map[string]labels.Set
	pods      []*podInfo
	podsByNS  map[string][]*podInfo
	local     map[types.NamespacedName]*PodRules
	prog      *Program
	problems  map[Problem]bool
	peerCache map[string]*compiledPeers
}

// Compile turns the cluster's NetworkPolicies into the rules of the node's
// pods. It is a pure function of its input.
func Compile(in Input) *Program {
	c := &compiler{
		in: in, nsLabels: map[string]labels.Set{}, local: map[types.NamespacedName]*PodRules{},
		prog: &Program{Sets: map[string]*Set{}}, problems: map[Problem]bool{}, peerCache: map[string]*compiledPeers{},
		podsByNS: map[string][]*podInfo{},
	}
	for i := range in.Namespaces {
		c.nsLabels[in.Namespaces[i].Name] = in.Namespaces[i].Labels
	}
	c.indexPods()
	policies := slices.Clone(in.Policies)
	slices.SortFunc(policies, func(a, b networkingv1.NetworkPolicy) int {
		return cmp.Or(cmp.Compare(a.Namespace, b.Namespace), cmp.Compare(a.Name, b.Name))
	})
	for i := range policies {
		c.policy(&policies[i])
	}
	for i := range c.prog.Pods {
		r := &c.prog.Pods[i]
		r.Ingress, r.Egress = dedupe(r.Ingress), dedupe(r.Egress)
	}
	for p := range c.problems {
		c.prog.Problems = append(c.prog.Problems, p)
	}
	slices.SortFunc(c.prog.Problems, func(a, b Problem) int {
		return cmp.Or(cmp.Compare(a.Policy.String(), b.Policy.String()), cmp.Compare(a.Reason, b.Reason))
	})
	return c.prog
}

// indexPods keeps the pods on the pod network that hold addresses, and
// lists the node's own.
func (c *compiler) indexPods() {
	for i := range c.in.Pods {
		pod := &c.in.Pods[i]
		ips := podIPs(pod)
		if len(ips) == 0 || pod.Spec.HostNetwork || pod.Status.Phase == corev1.PodSucceeded || pod.Status.Phase == corev1.PodFailed {
			continue
		}
		info := &podInfo{pod: pod, key: types.NamespacedName{Namespace: pod.Namespace, Name: pod.Name}, ips: ips}
		c.pods = append(c.pods, info)
		c.podsByNS[pod.Namespace] = append(c.podsByNS[pod.Namespace], info)
		if pod.Spec.NodeName == c.in.NodeName {
			c.prog.Pods = append(c.prog.Pods, PodRules{Pod: info.key, IPs: ips})
		}
	}
	slices.SortFunc(c.prog.Pods, func(a, b PodRules) int { return cmp.Compare(a.Pod.String(), b.Pod.String()) })
	for i := range c.prog.Pods {
		c.local[c.prog.Pods[i].Pod] = &c.prog.Pods[i]
	}
}

// podIPs returns the pod's valid addresses.
func podIPs(pod *corev1.Pod) []netip.Addr {
	var out []netip.Addr
	add := func(s string) {
		if a, err := netip.ParseAddr(s); err == nil && !slices.Contains(out, a.Unmap()) {
			out = append(out, a.Unmap())
		}
	}
	for _, ip := range pod.Status.PodIPs {
		add(ip.IP)
	}
	if pod.Status.PodIP != "" {
		add(pod.Status.PodIP)
	}
	return out
}

func (c *compiler) problem(pol *networkingv1.NetworkPolicy, format string, args ...any) {
	c.problems[Problem{Policy: types.NamespacedName{Namespace: pol.Namespace, Name: pol.Name}, Reason: fmt.Sprintf(format, args...)}] = true
}

// policy isolates the local pods the policy selects and adds its rules.
func (c *compiler) policy(pol *networkingv1.NetworkPolicy) {
	sel, err := metav1.LabelSelectorAsSelector(&pol.Spec.PodSelector)
	if err != nil {
		c.problem(pol, "invalid podSelector: %v", err)
		return
	}
	var targets []*podInfo
	for _, p := range c.pods {
		if p.pod.Namespace == pol.Namespace && c.local[p.key] != nil && sel.Matches(labels.Set(p.pod.Labels)) {
			targets = append(targets, p)
		}
	}
	if len(targets) == 0 {
		return
	}
	ingress, egress := policyTypes(pol)
	if ingress {
		for _, t := range targets {
			c.local[t.key].IngressIsolated = true
		}
		for _, r := range pol.Spec.Ingress {
			c.rule(pol, Ingress, r.From, r.Ports, targets)
		}
	}
	if egress {
		for _, t := range targets {
			c.local[t.key].EgressIsolated = true
		}
		for _, r := range pol.Spec.Egress {
			c.rule(pol, Egress, r.To, r.Ports, targets)
		}
	}
}

// policyTypes returns the directions the policy isolates: its policyTypes,
// or when it names none, ingress always and egress when it has egress rules.
func policyTypes(pol *networkingv1.NetworkPolicy) (ingress, egress bool) {
	if len(pol.Spec.PolicyTypes) == 0 {
		return true, len(pol.Spec.Egress) > 0
	}
	return slices.Contains(pol.Spec.PolicyTypes, networkingv1.PolicyTypeIngress),
		slices.Contains(pol.Spec.PolicyTypes, networkingv1.PolicyTypeEgress)
}

// rule adds the matches of one ingress or egress rule to its targets.
func (c *compiler) rule(pol *networkingv1.NetworkPolicy, dir Direction, peers []networkingv1.NetworkPolicyPeer,
	ports []networkingv1.NetworkPolicyPort, targets []*podInfo) {
	ps, ok := c.peers(pol, peers)
	if !ok {
		return // every peer was invalid: the rule allows nothing
	}
	numeric, named := c.ports(pol, ports)
	if len(ports) > 0 && len(numeric) == 0 && len(named) == 0 {
		return // every port was invalid
	}
	peerSets := c.peerSets(pol.Namespace, peers, ps)
	var tupleSets []string
	if dir == Egress && len(named) > 0 {
		tupleSets = c.tupleSets(pol.Namespace, peers, named, ps)
	}
	for _, t := range targets {
		rules := c.local[t.key]
		portRanges := numeric
		if dir == Ingress {
			portRanges = append(slices.Clone(numeric), resolveNamed(t.pod, named)...)
		}
		var matches []Match
		if len(ports) == 0 || len(portRanges) > 0 {
			for _, s := range peerSets {
				matches = append(matches, Match{PeerSet: s, Ports: portRanges})
			}
		}
		for _, s := range tupleSets {
			matches = append(matches, Match{TupleSet: s})
		}
		if dir == Ingress {
			rules.Ingress = append(rules.Ingress, matches...)
		} else {
			rules.Egress = append(rules.Egress, matches...)
		}
	}
}

// dedupe drops repeated matches, keeping the first of each.
func dedupe(ms []Match) []Match {
	seen := map[string]bool{}
	out := ms[:0]
	for _, m := range ms {
		var k strings.Builder
		k.WriteString(m.PeerSet + "|" + m.TupleSet)
		for _, p := range m.Ports {
			fmt.Fprintf(&k, "|%s/%d-%d", p.Protocol, p.First, p.Last)
		}
		if !seen[k.String()] {
			seen[k.String()] = true
			out = append(out, m)
		}
	}
	return out
}

// peerSel is the compiled peers of a rule.
type peerSel struct {
	// any is true for a rule without peers: every address matches.
	any bool
	// selectors is true when some peer selects pods; pods are those it
	// selects.
	selectors bool
	pods      []*podInfo
	selected  map[*podInfo]bool
	// ranges are the ipBlocks minus their excepts, by family (0 IPv4, 1 IPv6).
	ranges [2][]AddrRange
}

// compiledPeers is a memoised result of peers, with the problems to
// report on every policy that has the same peers.
type compiledPeers struct {
	sel      peerSel
	ok       bool
	problems []string
}

// peers compiles a rule's peers, once for all rules of a namespace with
// the same peers; ok is false when it had peers but none could be
// compiled.
func (c *compiler) peers(pol *networkingv1.NetworkPolicy, peers []networkingv1.NetworkPolicyPeer) (peerSel, bool) {
	if len(peers) == 0 {
		return peerSel{any: true}, true
	}
	data, _ := json.Marshal(peers)
	key := pol.Namespace + "/" + string(data)
	cp, found := c.peerCache[key]
	if !found {
		cp = &compiledPeers{}
		cp.sel, cp.ok = c.compilePeers(pol.Namespace, peers, func(format string, args ...any) {
			cp.problems = append(cp.problems, fmt.Sprintf(format, args...))
		})
		c.peerCache[key] = cp
	}
	for _, p := range cp.problems {
		c.problem(pol, "%s", p)
	}
	return cp.sel, cp.ok
}

func (c *compiler) compilePeers(ns string, peers []networkingv1.NetworkPolicyPeer, problem func(string, ...any)) (peerSel, bool) {
	var ps peerSel
	valid := false
	selected := map[*podInfo]bool{}
	for _, peer := range peers {
		switch {
		case peer.IPBlock != nil:
			if peer.PodSelector != nil || peer.NamespaceSelector != nil {
				problem("a peer with an ipBlock also has selectors")
				continue
			}
			ranges, err := ipBlockRanges(peer.IPBlock)
			if err != nil {
				problem("%v", err)
				continue
			}
			for _, r := range ranges {
				fam := familyIndex(r.First)
				ps.ranges[fam] = append(ps.ranges[fam], r)
			}
			valid = true
		case peer.PodSelector != nil || peer.NamespaceSelector != nil:
			pods, err := c.selectPods(ns, peer)
			if err != nil {
				problem("%v", err)
				continue
			}
			for _, p := range pods {
				selected[p] = true
			}
			ps.selectors, valid = true, true
		default:
			problem("a peer has neither selectors nor an ipBlock")
		}
	}
	for _, p := range c.pods {
		if selected[p] {
			ps.pods = append(ps.pods, p)
		}
	}
	ps.selected = selected
	for f := range ps.ranges {
		ps.ranges[f] = normalize(ps.ranges[f])
	}
	return ps, valid
}

func familyIndex(a netip.Addr) int {
	if a.Is4() {
		return 0
	}
	return 1
}

func ipBlockRanges(b *networkingv1.IPBlock) ([]AddrRange, error) {
	cidr, err := parseCIDR(b.CIDR)
	if err != nil {
		return nil, fmt.Errorf("ipBlock: %w", err)
	}
	except := make([]netip.Prefix, 0, len(b.Except))
	for _, e := range b.Except {
		p, err := parseCIDR(e)
		if err != nil {
			return nil, fmt.Errorf("ipBlock except: %w", err)
		}
		except = append(except, p)
	}
	return blockRanges(cidr, except), nil
}

// selectPods returns the pods a selector peer of a policy in namespace ns
// picks: a pod selector alone picks in ns, a namespace selector in the
// namespaces it matches.
func (c *compiler) selectPods(ns string, peer networkingv1.NetworkPolicyPeer) ([]*podInfo, error) {
	podSel, nsSel := labels.Everything(), labels.Selector(nil)
	var err error
	if peer.PodSelector != nil {
		if podSel, err = metav1.LabelSelectorAsSelector(peer.PodSelector); err != nil {
			return nil, fmt.Errorf("invalid peer podSelector: %w", err)
		}
	}
	if peer.NamespaceSelector != nil {
		if nsSel, err = metav1.LabelSelectorAsSelector(peer.NamespaceSelector); err != nil {
			return nil, fmt.Errorf("invalid peer namespaceSelector: %w", err)
		}
	}
	namespaces := []string{ns}
	if nsSel != nil {
		namespaces = namespaces[:0]
		for name, l := range c.nsLabels {
			if nsSel.Matches(l) {
				namespaces = append(namespaces, name)
			}
		}
	}
	var out []*podInfo
	for _, name := range namespaces {
		for _, p := range c.podsByNS[name] {
			if podSel.Matches(labels.Set(p.pod.Labels)) {
				out = append(out, p)
			}
		}
	}
	return out, nil
}

// namedPort is a port given by name, resolved per destination pod.
type namedPort struct {
	Name     string
	Protocol Protocol
}

// ports compiles a rule's ports into ranges and named ports, reporting
// and dropping the invalid ones.
func (c *compiler) ports(pol *networkingv1.NetworkPolicy, ports []networkingv1.NetworkPolicyPort) ([]PortRange, []namedPort) {
	var numeric []PortRange
	var named []namedPort
	for _, p := range ports {
		proto, ok := protocolOf(p.Protocol)
		if !ok {
			c.problem(pol, "unsupported protocol %q", *p.Protocol)
			continue
		}
		switch {
		case p.Port == nil:
			numeric = append(numeric, PortRange{Protocol: proto, First: 0, Last: 65535})
		case p.Port.Type == intstr.String:
			if p.EndPort != nil {
				c.problem(pol, "endPort with the named port %q", p.Port.StrVal)
				continue
			}
			named = append(named, namedPort{Name: p.Port.StrVal, Protocol: proto})
		default:
			r, err := portRange(proto, p.Port.IntVal, p.EndPort)
			if err != nil {
				c.problem(pol, "%v", err)
				continue
			}
			numeric = append(numeric, r)
		}
	}
	return numeric, named
}

func protocolOf(p *corev1.Protocol) (Protocol, bool) {
	if p == nil {
		return TCP, true
	}
	switch *p {
	case corev1.ProtocolTCP:
		return TCP, true
	case corev1.ProtocolUDP:
		return UDP, true
	case corev1.ProtocolSCTP:
		return SCTP, true
	}
	return "", false
}

func portRange(proto Protocol, port int32, endPort *int32) (PortRange, error) {
	last := port
	if endPort != nil {
		last = *endPort
	}
	if port < 1 || port > 65535 || last < port || last > 65535 {
		return PortRange{}, fmt.Errorf("invalid port range %d-%d", port, last)
	}
	return PortRange{Protocol: proto, First: uint16(port), Last: uint16(last)}, nil
}

// resolveNamed returns the ports of the pod's containers that the named
// ports name, with the same protocol.
func resolveNamed(pod *corev1.Pod, named []namedPort) []PortRange {
	var out []PortRange
	for _, n := range named {
		for _, port := range containerPorts(pod) {
			if port.Name == n.Name && protocolMatches(port.Protocol, n.Protocol) && port.ContainerPort > 0 && port.ContainerPort <= 65535 {
				out = append(out, PortRange{Protocol: n.Protocol, First: uint16(port.ContainerPort), Last: uint16(port.ContainerPort)})
			}
		}
	}
	return out
}

func containerPorts(pod *corev1.Pod) []corev1.ContainerPort {
	var out []corev1.ContainerPort
	for _, ctr := range pod.Spec.InitContainers {
		out = append(out, ctr.Ports...)
	}
	for _, ctr := range pod.Spec.Containers {
		out = append(out, ctr.Ports...)
	}
	return out
}

func protocolMatches(p corev1.Protocol, want Protocol) bool {
	got, ok := protocolOf(&p)
	if p == "" {
		got, ok = TCP, true
	}
	return ok && got == want
}

// setName names a set after what defines its content, so that rules of
// different policies that match the same peers share it.
func setName(kind string, v6 bool, parts ...any) string {
	data, _ := json.Marshal(parts)
	sum := sha256.Sum256(data)
	fam := "4"
	if v6 {
		fam = "6"
	}
	return "np-" + kind + "-" + hex.EncodeToString(sum[:6]) + "-" + fam
}

// peerSets returns the sets a rule's remote address must be in, one of
// which suffices: an empty name stands for any address. Pod sets exist for
// both families whenever the rule selects pods, so pods coming and going
// change set elements and never rules.
func (c *compiler) peerSets(ns string, peers []networkingv1.NetworkPolicyPeer, ps peerSel) []string {
	if ps.any {
		return []string{""}
	}
	var out []string
	if ps.selectors {
		var selectors []networkingv1.NetworkPolicyPeer
		for _, p := range peers {
			if p.IPBlock == nil {
				selectors = append(selectors, p)
			}
		}
		for _, v6 := range []bool{false, true} {
			name := setName("pods", v6, ns, selectors)
			if c.prog.Sets[name] == nil {
				c.prog.Sets[name] = &Set{Name: name, Kind: AddrSet, IPv6: v6, Addrs: addrsOf(ps.pods, v6)}
			}
			out = append(out, name)
		}
	}
	for f, ranges := range ps.ranges {
		if len(ranges) == 0 {
			continue
		}
		name := setName("cidr", f == 1, ranges)
		if c.prog.Sets[name] == nil {
			c.prog.Sets[name] = &Set{Name: name, Kind: RangeSet, IPv6: f == 1, Ranges: ranges}
		}
		out = append(out, name)
	}
	return out
}

func addrsOf(pods []*podInfo, v6 bool) []netip.Addr {
	var out []netip.Addr
	for _, p := range pods {
		for _, a := range p.ips {
			if a.Is6() == v6 {
				out = append(out, a)
			}
		}
	}
	slices.SortFunc(out, netip.Addr.Compare)
	return slices.Compact(out)
}

// tupleSets returns the sets of (address, protocol, port) of the named
// ports of an egress rule, resolved on every pod its peers match.
func (c *compiler) tupleSets(ns string, peers []networkingv1.NetworkPolicyPeer, named []namedPort, ps peerSel) []string {
	matches := func(p *podInfo, a netip.Addr) bool {
		return ps.any || ps.selected[p] ||
			slices.ContainsFunc(ps.ranges[familyIndex(a)], func(r AddrRange) bool { return r.Contains(a) })
	}
	out := make([]string, 0, 2)
	for _, v6 := range []bool{false, true} {
		name := setName("ports", v6, ns, peers, named)
		if c.prog.Sets[name] == nil {
			c.prog.Sets[name] = &Set{Name: name, Kind: TupleSet, IPv6: v6, Tuples: c.tuplesOf(matches, named, v6)}
		}
		out = append(out, name)
	}
	return out
}

// tuplesOf returns the tuples of the named ports of the pod addresses of
// the family that match.
func (c *compiler) tuplesOf(matches func(*podInfo, netip.Addr) bool, named []namedPort, v6 bool) []Tuple {
	var out []Tuple
	for _, p := range c.pods {
		for _, r := range resolveNamed(p.pod, named) {
			for _, a := range p.ips {
				if a.Is6() == v6 && matches(p, a) {
					out = append(out, Tuple{Addr: a, Protocol: r.Protocol, Port: r.First})
				}
			}
		}
	}
	slices.SortFunc(out, func(a, b Tuple) int {
		return cmp.Or(a.Addr.Compare(b.Addr), cmp.Compare(a.Protocol, b.Protocol), cmp.Compare(a.Port, b.Port))
	})
	return slices.Compact(out)
}
