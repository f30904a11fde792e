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

package agent

import (
	"cmp"
	"fmt"
	"net/netip"
	"slices"

	corev1 "k8s.io/api/core/v1"
)

// Why a peer's pod CIDR or address was refused: the reason label of the
// refusal metric, and part of the Event on the refused Node.
const (
	// RefusedDefaultRoute: the pod CIDR is 0.0.0.0/0 or ::/0.
	RefusedDefaultRoute = "default_route"
	// RefusedOutsideCluster: the pod CIDR is not inside the cluster CIDRs
	// (checked when they are configured, not derived from the Nodes).
	RefusedOutsideCluster = "outside_cluster_cidrs"
	// RefusedContainsNodeAddress: the pod CIDR holds a node's InternalIP,
	// so routing it would take over the underlay.
	RefusedContainsNodeAddress = "contains_node_address"
	// RefusedOverlapsOwnNode: the pod CIDR overlaps this node's.
	RefusedOverlapsOwnNode = "overlaps_own_node"
	// RefusedOverlapsPeer: the pod CIDR overlaps one of a peer accepted
	// before it (older creationTimestamp, then lower name).
	RefusedOverlapsPeer = "overlaps_peer"
	// RefusedInvalidAddress: the Node's InternalIP is loopback, multicast,
	// link-local, unspecified, inside the cluster or this node's pod CIDRs,
	// this node's own, or an older peer's; the whole Node is refused.
	RefusedInvalidAddress = "invalid_node_address"
)

// refusal is a pod CIDR or a node address the agent did not accept.
type refusal struct {
	node   string
	reason string
	// what was refused: a pod CIDR or an address.
	what string
	// detail says why, for the Event and the log.
	detail string
}

// key identifies the refusal across syncs, so that it is reported once.
func (r refusal) key() string { return r.node + "|" + r.what + "|" + r.reason }

func (r refusal) message() string {
	return fmt.Sprintf("refused %s of node %s: %s", r.what, r.node, r.detail)
}

// view is the agent's reading of the Node list: this node, the peers whose
// routes it programs, and what it refused.
type view struct {
	self nodeInfo
	// found tells whether this node is in the list.
	found bool
	// peers are the accepted peers that can be routed to (with an
	// InternalIP, not being deleted), by name; their podCIDRs hold only
	// the accepted ones.
	peers []nodeInfo
	// podCIDRs are this node's and every accepted peer's pod CIDRs,
	// deleting peers' included.
	podCIDRs []netip.Prefix
	refusals []refusal
}

// viewOf reads the Node list. A peer is checked in the order of its
// creationTimestamp, then name, so that when two Nodes claim overlapping
// pod CIDRs the one that existed first keeps them (the API server sets the
// timestamp; a Node created later cannot claim to be older). What is
// accepted: a pod CIDR that is not a default route, lies inside the
// configured cluster CIDRs, holds neither this node's nor an accepted
// peer's InternalIP, and overlaps neither this node's pod CIDRs nor an
// accepted peer's; a Node whose InternalIPs are all usable (see
// badAddress). Everything is first come, first served in that order.
func (a *Agent) viewOf(nodes []corev1.Node) view {
	var v view
	var others []nodeInfo
	for i := range nodes {
		info := routingView(&nodes[i])
		if info.name == a.cfg.NodeName {
			v.self, v.found = info, true
			continue
		}
		if len(info.podCIDRs) > 0 {
			others = append(others, info)
		}
	}
	slices.SortFunc(others, func(x, y nodeInfo) int {
		return cmp.Or(x.created.Compare(y.created), cmp.Compare(x.name, y.name))
	})
	v.podCIDRs = slices.Clone(v.self.podCIDRs)
	ad := admission{cluster: a.clusterCIDRs, self: v.self}
	for _, n := range others {
		accepted, refused := ad.admit(n)
		v.refusals = append(v.refusals, refused...)
		if len(accepted.podCIDRs) == 0 {
			continue
		}
		v.podCIDRs = append(v.podCIDRs, accepted.podCIDRs...)
		if accepted.internalIP.IsValid() && !accepted.deleting {
			v.peers = append(v.peers, accepted)
		}
	}
	slices.SortFunc(v.peers, func(x, y nodeInfo) int { return cmp.Compare(x.name, y.name) })
	return v
}

// admission accepts peers one at a time, remembering what it accepted.
type admission struct {
	cluster []netip.Prefix
	self    nodeInfo
	// addrs are the accepted peers' InternalIPs, with their node.
	addrs []owned[netip.Addr]
	// cidrs are the accepted peers' pod CIDRs, with their node.
	cidrs []owned[netip.Prefix]
}

// owned is an address or pod CIDR of the node that holds it.
type owned[T any] struct {
	node string
	v    T
}

// admit returns n with only its acceptable pod CIDRs, and what it refused.
func (ad *admission) admit(n nodeInfo) (nodeInfo, []refusal) {
	for _, ip := range []netip.Addr{n.internalIP, n.internalV6} {
		if why := ad.badAddress(ip); why != "" {
			r := refusal{node: n.name, reason: RefusedInvalidAddress, what: "InternalIP " + ip.String(), detail: why}
			return nodeInfo{}, []refusal{r}
		}
	}
	var refused []refusal
	accepted := n
	accepted.podCIDRs = nil
	for _, p := range n.podCIDRs {
		reason, why := ad.checkCIDR(n, p)
		if reason != "" {
			refused = append(refused, refusal{node: n.name, reason: reason, what: "pod CIDR " + p.String(), detail: why})
			continue
		}
		accepted.podCIDRs = append(accepted.podCIDRs, p)
		ad.cidrs = append(ad.cidrs, owned[netip.Prefix]{node: n.name, v: p})
	}
	if len(accepted.podCIDRs) > 0 {
		for _, ip := range addressesOf(n) {
			ad.addrs = append(ad.addrs, owned[netip.Addr]{node: n.name, v: ip})
		}
	}
	return accepted, refused
}

// badAddress says what is wrong with a peer's InternalIP, or "" when
// nothing is (no address is not wrong: such a peer is only not routed to).
func (ad *admission) badAddress(ip netip.Addr) string {
	ip = ip.Unmap()
	switch {
	case !ip.IsValid():
		return ""
	case ip.IsUnspecified(), ip.IsLoopback(), ip.IsMulticast(), ip.IsLinkLocalUnicast(), ip.IsLinkLocalMulticast():
		return "not a unicast address another host can have"
	case slices.Contains(addressesOf(ad.self), ip):
		return "this node's own address"
	}
	for _, o := range ad.addrs {
		if o.v == ip {
			return "already the address of node " + o.node
		}
	}
	for _, p := range slices.Concat(ad.cluster, ad.self.podCIDRs) {
		if p.Contains(ip) {
			return "inside the pod CIDR " + p.String()
		}
	}
	for _, o := range ad.cidrs {
		if o.v.Contains(ip) {
			return fmt.Sprintf("inside the pod CIDR %s of node %s", o.v, o.node)
		}
	}
	return ""
}

// checkCIDR returns the reason and detail of refusing the pod CIDR p of
// peer n, or "" to accept it.
func (ad *admission) checkCIDR(n nodeInfo, p netip.Prefix) (string, string) {
	if p.Bits() == 0 {
		return RefusedDefaultRoute, "a default route"
	}
	if len(ad.cluster) > 0 && !slices.ContainsFunc(ad.cluster, func(c netip.Prefix) bool { return within(p, c) }) {
		return RefusedOutsideCluster, fmt.Sprintf("not inside the cluster CIDRs %v", ad.cluster)
	}
	addrs := slices.Concat([]owned[netip.Addr]{}, ad.addrs)
	for _, m := range []nodeInfo{ad.self, n} {
		for _, ip := range addressesOf(m) {
			addrs = append(addrs, owned[netip.Addr]{node: m.name, v: ip})
		}
	}
	for _, o := range addrs {
		if p.Contains(o.v) {
			return RefusedContainsNodeAddress, fmt.Sprintf("holds the address %s of node %s", o.v, o.node)
		}
	}
	for _, own := range ad.self.podCIDRs {
		if own.Overlaps(p) {
			return RefusedOverlapsOwnNode, "overlaps this node's pod CIDR " + own.String()
		}
	}
	for _, o := range ad.cidrs {
		if o.v.Overlaps(p) {
			return RefusedOverlapsPeer, fmt.Sprintf("overlaps %s of node %s, which came first", o.v, o.node)
		}
	}
	return "", ""
}

// within reports whether p lies inside c.
func within(p, c netip.Prefix) bool {
	return c.Bits() <= p.Bits() && c.Contains(p.Addr())
}

// addressesOf returns the node's InternalIPs.
func addressesOf(n nodeInfo) []netip.Addr {
	var out []netip.Addr
	for _, ip := range []netip.Addr{n.internalIP, n.internalV6} {
		if ip.IsValid() && !slices.Contains(out, ip) {
			out = append(out, ip)
		}
	}
	return out
}
