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

// Package netpol enforces Kubernetes NetworkPolicies (networking.k8s.io/v1)
// on the pods of one node, in nftables, from plinth-node's network agent.
//
// Compile is a pure function from the cluster's policies, pods and
// namespaces to a Program: for each of the node's pods, whether it is
// isolated for ingress and egress (some policy selects it for that
// direction) and the matches that allow its traffic. A match names a set
// of peer addresses (the pods a podSelector and/or namespaceSelector
// picks, or the ranges of ipBlocks minus their excepts) and port ranges per
// protocol (TCP, UDP, SCTP; endPort ranges; named ports resolved on the
// node's pod for ingress). Named ports of egress rules resolve on each
// destination pod, so they become a set of (address, protocol, port).
// Sets are named after what defines their content, so rules of different
// policies that match the same peers share one. Policy parts that cannot
// be enforced (an unknown protocol, endPort with a named port, a bad CIDR
// or selector) are dropped, so the traffic they would allow stays denied,
// and listed as Problems.
//
// The Engine programs a Program into the agent's table, "inet plinth",
// next to the agent's own objects; every object it owns is named np-*:
//
//   - the base chain np-forward at the forward hook, where pods' veths
//     meet the host: replies of allowed connections pass (conntrack
//     established/related); a packet from or to a local pod veth (plx*)
//     whose address is not in the np-known-4/6 sets is dropped; then the
//     verdict maps np-egress-4/6 (by source address) and np-ingress-4/6 (by
//     destination) jump to the chains of isolated pods;
//   - per isolated pod and direction, a chain np-in-<hash> or np-out-<hash>
//     of rules that return on a match and a final drop;
//   - the peer sets np-pods-*, np-cidr-* and np-ports-*, by family.
//
// Traffic from the node to its own pods (kubelet probes) never crosses the
// forward hook and is always allowed; so is traffic from a pod to its node.
//
// A new pod is isolated before its first packet because the CNI ADD and
// the agent agree on one rule: a local pod address is forwarded only once
// the agent has classified it (put it in np-known-*, with its verdict map
// entries if a policy isolates it), which it does in the same transaction
// that gives the pod its rules. Until then, from the ADD until the agent
// sees the address in the pod's status, the pod neither sends nor receives
// through the host, whatever the policies. The plugin needs no change for
// it: it names every host veth plx*. A pod the agent cannot classify, say
// while the agent is down, stays without network rather than unfiltered.
//
// The first Apply of an Engine (at agent start) rebuilds its objects in one
// transaction: each is created if missing and flushed and refilled in the
// same transaction, and stale ones are deleted, so the rules that stayed in
// the kernel while the agent was down keep filtering until the new ones
// replace them atomically; the table is never flushed. Later Applies diff
// against the last one and commit only the changed set elements, map
// entries and pod chains. Cleanup of the agent removes the table and with
// it everything here; Engine.Delete removes only the np-* objects.
//
// Controller runs it all from a cache of every pod (stripped to labels,
// addresses, node and container ports), namespace and policy: each event
// enqueues the one request, which compiles the whole state and applies it.
// It reports Problems as Warning Events on the policies and exports the
// number of rules and set elements programmed and the programming latency
// as metrics (plinth_network_policy_*).
package netpol
