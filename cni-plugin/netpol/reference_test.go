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
	"net/netip"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/plinth-dev/plinth/cni-plugin/netpol"
)

// reference decides a probe straight from the NetworkPolicy API's words,
// one policy and one rule at a time, with none of the compiler's sets: the
// expected matrix of the cases.
type reference struct {
	w        *world
	policies []networkingv1.NetworkPolicy
}

// allows reports whether the probe's connection is allowed: by the egress
// policies of its source and the ingress policies of its destination.
func (r reference) allows(p probe) bool {
	srcIP, dstIP := addrOf(p.src, p.v6), addrOf(p.dst, p.v6)
	return r.direction(networkingv1.PolicyTypeEgress, p.src, p.dst, dstIP, p) &&
		r.direction(networkingv1.PolicyTypeIngress, p.dst, p.src, srcIP, p)
}

// direction: a pod that no policy of the direction selects is not
// isolated; an isolated pod allows what some rule of those policies allows.
func (r reference) direction(dir networkingv1.PolicyType, subject, remote *corev1.Pod, remoteIP netip.Addr, p probe) bool {
	isolated := false
	for _, pol := range r.policies {
		if pol.Namespace != subject.Namespace || !selects(&pol.Spec.PodSelector, subject.Labels) || !hasType(pol, dir) {
			continue
		}
		isolated = true
		if dir == networkingv1.PolicyTypeIngress {
			for _, rule := range pol.Spec.Ingress {
				if r.peersMatch(pol.Namespace, rule.From, remote, remoteIP) && portsMatch(rule.Ports, subject, p) {
					return true
				}
			}
			continue
		}
		for _, rule := range pol.Spec.Egress {
			if r.peersMatch(pol.Namespace, rule.To, remote, remoteIP) && portsMatch(rule.Ports, remote, p) {
				return true
			}
		}
	}
	return !isolated
}

func selects(sel *metav1.LabelSelector, l map[string]string) bool {
	s, err := metav1.LabelSelectorAsSelector(sel)
	return err == nil && s.Matches(labels.Set(l))
}

// hasType applies the defaulting of policyTypes: Ingress always, Egress
// when there are egress rules.
func hasType(pol networkingv1.NetworkPolicy, t networkingv1.PolicyType) bool {
	if len(pol.Spec.PolicyTypes) > 0 {
		for _, pt := range pol.Spec.PolicyTypes {
			if pt == t {
				return true
			}
		}
		return false
	}
	return t == networkingv1.PolicyTypeIngress || len(pol.Spec.Egress) > 0
}

// peersMatch: no peers match everything; otherwise one peer must match.
func (r reference) peersMatch(ns string, peers []networkingv1.NetworkPolicyPeer, remote *corev1.Pod, ip netip.Addr) bool {
	if len(peers) == 0 {
		return true
	}
	for _, peer := range peers {
		if r.peerMatches(ns, peer, remote, ip) {
			return true
		}
	}
	return false
}

func (r reference) peerMatches(ns string, peer networkingv1.NetworkPolicyPeer, remote *corev1.Pod, ip netip.Addr) bool {
	if peer.IPBlock != nil {
		if !netip.MustParsePrefix(peer.IPBlock.CIDR).Contains(ip) {
			return false
		}
		for _, e := range peer.IPBlock.Except {
			if netip.MustParsePrefix(e).Contains(ip) {
				return false
			}
		}
		return true
	}
	if peer.NamespaceSelector == nil {
		if remote.Namespace != ns {
			return false
		}
	} else if !selects(peer.NamespaceSelector, r.w.namespace(remote.Namespace).Labels) {
		return false
	}
	return peer.PodSelector == nil || selects(peer.PodSelector, remote.Labels)
}

// portsMatch: no ports match everything; a port matches its protocol (TCP
// by default) and number, range, or the named port of the destination pod.
func portsMatch(ports []networkingv1.NetworkPolicyPort, dst *corev1.Pod, p probe) bool {
	if len(ports) == 0 {
		return true
	}
	for _, port := range ports {
		proto := corev1.ProtocolTCP
		if port.Protocol != nil {
			proto = *port.Protocol
		}
		if string(p.proto) != lower(proto) {
			continue
		}
		switch {
		case port.Port == nil:
			return true
		case port.Port.Type == intstr.Int:
			last := port.Port.IntVal
			if port.EndPort != nil {
				last = *port.EndPort
			}
			if int32(p.port) >= port.Port.IntVal && int32(p.port) <= last {
				return true
			}
		case port.EndPort == nil:
			for _, c := range dst.Spec.Containers {
				for _, cp := range c.Ports {
					if cp.Name == port.Port.StrVal && cp.Protocol == proto && cp.ContainerPort == int32(p.port) {
						return true
					}
				}
			}
		}
	}
	return false
}

// expected computes the case's matrix with the reference.
func expected(w *world, pols []networkingv1.NetworkPolicy, probes []probe) map[string]bool {
	r := reference{w: w, policies: pols}
	out := map[string]bool{}
	for _, p := range probes {
		out[p.String()] = r.allows(p)
	}
	return out
}

// compiled decides the probes with the programs of the nodes, each
// compiled on its own: egress on the source's node, ingress on the
// destination's.
func compiled(w *world, pols []networkingv1.NetworkPolicy, probes []probe) map[string]bool {
	progs := map[string]*netpol.Program{}
	for _, n := range w.nodes() {
		progs[n] = netpol.Compile(netpol.Input{NodeName: n, Policies: pols, Pods: w.pods, Namespaces: w.namespaces})
	}
	out := map[string]bool{}
	for _, p := range probes {
		src, dst := addrOf(p.src, p.v6), addrOf(p.dst, p.v6)
		out[p.String()] = progs[p.src.Spec.NodeName].AllowsDirection(netpol.Egress, src, dst, p.proto, p.port) &&
			progs[p.dst.Spec.NodeName].AllowsDirection(netpol.Ingress, src, dst, p.proto, p.port)
	}
	return out
}
