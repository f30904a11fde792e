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
	"fmt"
	"net/netip"
	"slices"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/plinth-dev/plinth/cni-plugin/netpol"
)

// The world of the policy cases, after upstream's NetworkPolicy e2e: three
// namespaces x, y, z labelled ns=<name>, each with pods a, b, c labelled
// pod=<name>, serving ports 80 and 81 over TCP and UDP.
var (
	namespaceNames = []string{"x", "y", "z"}
	podNames       = []string{"a", "b", "c"}
	probePorts     = []uint16{80, 81}
	protocols      = []netpol.Protocol{netpol.TCP, netpol.UDP}
)

// world is the cluster state a case runs against.
type world struct {
	namespaces []corev1.Namespace
	pods       []corev1.Pod
}

// podAddrs returns the IPv4 and IPv6 address of pod p (0-2) of namespace
// n (0-2): namespace n's pods are in 10.0.<n+1>.0/24 and fd00:<n+1>::/64.
func podAddrs(n, p int) (netip.Addr, netip.Addr) {
	return netip.AddrFrom4([4]byte{10, 0, byte(n + 1), byte(p + 2)}),
		netip.MustParseAddr(fmt.Sprintf("fd00:%d::%d", n+1, p+2))
}

// nodeOf places the pods on two nodes, so rules of both ends of a
// connection are on different nodes for most pairs.
func nodeOf(n, p int) string {
	if (n+p)%2 == 0 {
		return "node-1"
	}
	return "node-2"
}

func newWorld() *world {
	w := &world{}
	for n, ns := range namespaceNames {
		w.namespaces = append(w.namespaces, corev1.Namespace{ObjectMeta: metav1.ObjectMeta{
			Name: ns, Labels: map[string]string{"ns": ns, "kubernetes.io/metadata.name": ns},
		}})
		for p, name := range podNames {
			v4, v6 := podAddrs(n, p)
			w.pods = append(w.pods, corev1.Pod{
				ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, Labels: map[string]string{"pod": name}},
				Spec:       corev1.PodSpec{NodeName: nodeOf(n, p), Containers: []corev1.Container{{Name: "c", Ports: containerPorts(name)}}},
				Status: corev1.PodStatus{Phase: corev1.PodRunning, PodIP: v4.String(),
					PodIPs: []corev1.PodIP{{IP: v4.String()}, {IP: v6.String()}}},
			})
		}
	}
	return w
}

// containerPorts names each served port, and "web" is 80/TCP but on pods b
// where it is 81/TCP, so a named port resolves per pod.
func containerPorts(pod string) []corev1.ContainerPort {
	web := int32(80)
	if pod == "b" {
		web = 81
	}
	var out []corev1.ContainerPort
	for _, port := range []int32{80, 81} {
		for _, proto := range []corev1.Protocol{corev1.ProtocolTCP, corev1.ProtocolUDP} {
			out = append(out, corev1.ContainerPort{
				Name: fmt.Sprintf("serve-%d-%s", port, lower(proto)), ContainerPort: port, Protocol: proto,
			})
		}
	}
	return append(out, corev1.ContainerPort{Name: "web", ContainerPort: web, Protocol: corev1.ProtocolTCP})
}

func lower(p corev1.Protocol) string {
	return map[corev1.Protocol]string{corev1.ProtocolTCP: "tcp", corev1.ProtocolUDP: "udp", corev1.ProtocolSCTP: "sctp"}[p]
}

func (w *world) pod(ns, name string) *corev1.Pod {
	for i := range w.pods {
		if w.pods[i].Namespace == ns && w.pods[i].Name == name {
			return &w.pods[i]
		}
	}
	panic("no pod " + ns + "/" + name)
}

func (w *world) namespace(name string) *corev1.Namespace {
	for i := range w.namespaces {
		if w.namespaces[i].Name == name {
			return &w.namespaces[i]
		}
	}
	panic("no namespace " + name)
}

// The policy builders.

type policyOpt func(*networkingv1.NetworkPolicy)

func policy(ns, name string, podSel map[string]string, opts ...policyOpt) networkingv1.NetworkPolicy {
	p := networkingv1.NetworkPolicy{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec:       networkingv1.NetworkPolicySpec{PodSelector: metav1.LabelSelector{MatchLabels: podSel}},
	}
	for _, o := range opts {
		o(&p)
	}
	return p
}

func types(ts ...networkingv1.PolicyType) policyOpt {
	return func(p *networkingv1.NetworkPolicy) { p.Spec.PolicyTypes = ts }
}

const (
	in  = networkingv1.PolicyTypeIngress
	out = networkingv1.PolicyTypeEgress
)

func from(peers []networkingv1.NetworkPolicyPeer, ports ...networkingv1.NetworkPolicyPort) policyOpt {
	return func(p *networkingv1.NetworkPolicy) {
		p.Spec.Ingress = append(p.Spec.Ingress, networkingv1.NetworkPolicyIngressRule{From: peers, Ports: ports})
	}
}

func to(peers []networkingv1.NetworkPolicyPeer, ports ...networkingv1.NetworkPolicyPort) policyOpt {
	return func(p *networkingv1.NetworkPolicy) {
		p.Spec.Egress = append(p.Spec.Egress, networkingv1.NetworkPolicyEgressRule{To: peers, Ports: ports})
	}
}

func peers(ps ...networkingv1.NetworkPolicyPeer) []networkingv1.NetworkPolicyPeer { return ps }

// anyPeer is a rule without peers: every address.
var anyPeer []networkingv1.NetworkPolicyPeer

func podPeer(l map[string]string) networkingv1.NetworkPolicyPeer {
	return networkingv1.NetworkPolicyPeer{PodSelector: &metav1.LabelSelector{MatchLabels: l}}
}

func nsPeer(l map[string]string) networkingv1.NetworkPolicyPeer {
	return networkingv1.NetworkPolicyPeer{NamespaceSelector: &metav1.LabelSelector{MatchLabels: l}}
}

func bothPeer(ns, pod map[string]string) networkingv1.NetworkPolicyPeer {
	return networkingv1.NetworkPolicyPeer{
		NamespaceSelector: &metav1.LabelSelector{MatchLabels: ns}, PodSelector: &metav1.LabelSelector{MatchLabels: pod},
	}
}

func exprPeer(nsExpr, podExpr *metav1.LabelSelectorRequirement) networkingv1.NetworkPolicyPeer {
	var peer networkingv1.NetworkPolicyPeer
	if nsExpr != nil {
		peer.NamespaceSelector = &metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{*nsExpr}}
	}
	if podExpr != nil {
		peer.PodSelector = &metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{*podExpr}}
	}
	return peer
}

func cidrPeer(cidr string, except ...string) networkingv1.NetworkPolicyPeer {
	return networkingv1.NetworkPolicyPeer{IPBlock: &networkingv1.IPBlock{CIDR: cidr, Except: except}}
}

func l(kv ...string) map[string]string {
	m := map[string]string{}
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i]] = kv[i+1]
	}
	return m
}

func port(proto corev1.Protocol, p int32) networkingv1.NetworkPolicyPort {
	v := intstr.FromInt32(p)
	return networkingv1.NetworkPolicyPort{Protocol: &proto, Port: &v}
}

func portRange(proto corev1.Protocol, first, last int32) networkingv1.NetworkPolicyPort {
	r := port(proto, first)
	r.EndPort = &last
	return r
}

func namedPort(proto corev1.Protocol, name string) networkingv1.NetworkPolicyPort {
	v := intstr.FromString(name)
	return networkingv1.NetworkPolicyPort{Protocol: &proto, Port: &v}
}

func allPortsOf(proto corev1.Protocol) networkingv1.NetworkPolicyPort {
	return networkingv1.NetworkPolicyPort{Protocol: &proto}
}

// defaultProtocol is a port without a protocol, which means TCP.
func defaultProtocol(p int32) networkingv1.NetworkPolicyPort {
	v := intstr.FromInt32(p)
	return networkingv1.NetworkPolicyPort{Port: &v}
}

const (
	tcp  = corev1.ProtocolTCP
	udp  = corev1.ProtocolUDP
	sctp = corev1.ProtocolSCTP
)

// probe is one connection attempt of the matrix.
type probe struct {
	src, dst *corev1.Pod
	v6       bool
	proto    netpol.Protocol
	port     uint16
}

func (p probe) String() string {
	fam := "v4"
	if p.v6 {
		fam = "v6"
	}
	return fmt.Sprintf("%s/%s->%s/%s %s %s/%d", p.src.Namespace, p.src.Name, p.dst.Namespace, p.dst.Name, fam, p.proto, p.port)
}

func addrOf(pod *corev1.Pod, v6 bool) netip.Addr {
	for _, ip := range pod.Status.PodIPs {
		if a := netip.MustParseAddr(ip.IP); a.Is6() == v6 {
			return a
		}
	}
	panic("no address")
}

// matrix lists every probe between two different pods.
func (w *world) matrix(families []bool, ports []uint16) []probe {
	var out []probe
	for i := range w.pods {
		for j := range w.pods {
			if i == j {
				continue
			}
			for _, v6 := range families {
				for _, proto := range protocols {
					for _, port := range ports {
						out = append(out, probe{src: &w.pods[i], dst: &w.pods[j], v6: v6, proto: proto, port: port})
					}
				}
			}
		}
	}
	return out
}

// nodes returns the nodes pods run on.
func (w *world) nodes() []string {
	var out []string
	for _, p := range w.pods {
		if !slices.Contains(out, p.Spec.NodeName) {
			out = append(out, p.Spec.NodeName)
		}
	}
	slices.Sort(out)
	return out
}
