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
	"net/netip"
	"slices"

	"k8s.io/apimachinery/pkg/types"
)

// Protocol is a transport protocol a NetworkPolicy port names, as nftables
// spells it.
type Protocol string

// The protocols of NetworkPolicy ports.
const (
	TCP  Protocol = "tcp"
	UDP  Protocol = "udp"
	SCTP Protocol = "sctp"
)

// PortRange is the destination ports First to Last of one protocol.
type PortRange struct {
	Protocol    Protocol
	First, Last uint16
}

// allPorts reports whether the range covers every port of its protocol.
func (p PortRange) allPorts() bool { return p.First == 0 && p.Last == 65535 }

// SetKind tells what a Set holds.
type SetKind int

// The kinds of sets.
const (
	// AddrSet holds single addresses: the pods a selector picks.
	AddrSet SetKind = iota
	// RangeSet holds address ranges: ipBlocks minus their excepts.
	RangeSet
	// TupleSet holds (address, protocol, port) tuples: the named ports of
	// the destination pods of an egress rule.
	TupleSet
)

// Tuple is an element of a TupleSet.
type Tuple struct {
	Addr     netip.Addr
	Protocol Protocol
	Port     uint16
}

// Set is a named set of one IP family, shared by every rule that matches
// the same peers.
type Set struct {
	Name string
	Kind SetKind
	// IPv6 is the family of the set's addresses.
	IPv6   bool
	Addrs  []netip.Addr
	Ranges []AddrRange
	Tuples []Tuple
}

// contains reports whether the set holds the address, or with a TupleSet
// the tuple (a, proto, port).
func (s *Set) contains(a netip.Addr, proto Protocol, port uint16) bool {
	switch s.Kind {
	case AddrSet:
		_, found := slices.BinarySearchFunc(s.Addrs, a, netip.Addr.Compare)
		return found
	case RangeSet:
		return slices.ContainsFunc(s.Ranges, func(r AddrRange) bool { return r.Contains(a) })
	default:
		return slices.Contains(s.Tuples, Tuple{Addr: a, Protocol: proto, Port: port})
	}
}

// Match is one allow rule of a pod, on the remote end of a packet: its
// source address for ingress, its destination for egress. A packet matches
// when the remote address is in PeerSet (any address when empty) and its
// protocol and destination port are in Ports (any when empty), or, for a
// Match with TupleSet, when the remote (address, protocol, port) is in it.
type Match struct {
	PeerSet  string
	Ports    []PortRange
	TupleSet string
}

// PodRules are the isolation and allow rules of one local pod. A pod that
// no policy isolates in a direction has no rules for it and all its
// traffic in that direction is allowed.
type PodRules struct {
	// Pod names the pod.
	Pod types.NamespacedName
	// IPs are the pod's addresses.
	IPs []netip.Addr
	// IngressIsolated and EgressIsolated tell whether some policy selects
	// the pod for that direction: only then is its traffic filtered.
	IngressIsolated, EgressIsolated bool
	// Ingress and Egress allow traffic in the direction when any matches.
	Ingress, Egress []Match
}

// Problem is a part of a policy the compiler could not enforce: the traffic
// that part would allow stays denied.
type Problem struct {
	Policy types.NamespacedName
	Reason string
}

// Program is the compiled policy of one node: the rules of each of its
// pods and the sets they refer to.
type Program struct {
	// Pods are the node's pods, sorted by name.
	Pods []PodRules
	// Sets are the sets the rules refer to, by name.
	Sets map[string]*Set
	// Problems are the policy parts that could not be compiled.
	Problems []Problem
}

// Direction is the direction of traffic relative to a pod.
type Direction int

// The two directions.
const (
	Ingress Direction = iota
	Egress
)

// Allows reports whether the node's rules let a packet from src to dst with
// the protocol and destination port through, as the node's forward hook
// decides it: the egress rules of src when it is a local pod, then the
// ingress rules of dst when it is one.
func (p *Program) Allows(src, dst netip.Addr, proto Protocol, port uint16) bool {
	return p.AllowsDirection(Egress, src, dst, proto, port) && p.AllowsDirection(Ingress, src, dst, proto, port)
}

// AllowsDirection is Allows for one direction: egress checks the local pod
// at src, ingress the local pod at dst; a packet whose end is not a local
// pod passes.
func (p *Program) AllowsDirection(dir Direction, src, dst netip.Addr, proto Protocol, port uint16) bool {
	local, remote := dst, src
	if dir == Egress {
		local, remote = src, dst
	}
	pod := p.podAt(local)
	if pod == nil {
		return true
	}
	isolated, matches := pod.IngressIsolated, pod.Ingress
	if dir == Egress {
		isolated, matches = pod.EgressIsolated, pod.Egress
	}
	if !isolated {
		return true
	}
	return slices.ContainsFunc(matches, func(m Match) bool { return p.matches(m, remote, proto, port) })
}

func (p *Program) podAt(a netip.Addr) *PodRules {
	for i := range p.Pods {
		if slices.Contains(p.Pods[i].IPs, a) {
			return &p.Pods[i]
		}
	}
	return nil
}

func (p *Program) matches(m Match, remote netip.Addr, proto Protocol, port uint16) bool {
	if m.TupleSet != "" {
		s := p.Sets[m.TupleSet]
		return s.IPv6 == remote.Is6() && s.contains(remote, proto, port)
	}
	if m.PeerSet != "" {
		s := p.Sets[m.PeerSet]
		if s.IPv6 != remote.Is6() || !s.contains(remote, proto, port) {
			return false
		}
	}
	if len(m.Ports) == 0 {
		return true
	}
	return slices.ContainsFunc(m.Ports, func(r PortRange) bool {
		return r.Protocol == proto && r.First <= port && port <= r.Last
	})
}
