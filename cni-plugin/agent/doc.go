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

// Package agent is the node network agent that runs inside plinth-node. It
// makes a node ready to run pods on the Plinth pod network and keeps the
// node's view of the other nodes current.
//
// On every Sync the agent, given the list of Nodes:
//
//   - accepts only peers it can trust with traffic (see viewOf): a peer's
//     pod CIDR must not be a default route, must lie inside the configured
//     cluster CIDRs, must not hold a node's InternalIP and must not overlap
//     this node's pod CIDRs or those of a peer accepted before it, peers
//     being taken oldest creationTimestamp first, then by name; a peer's
//     InternalIP must be a unicast address outside the pod CIDRs and no
//     other node's. Each refusal is logged, counted in
//     plinth_network_peer_refusals_total{reason} and reported by a
//     Warning Event (PodCIDRRefused) on the refused Node, once while it
//     lasts;
//   - programs a route to every other node's pod CIDRs: directly via the
//     peer's InternalIP when the peer is on a directly connected subnet
//     (host-gw), or through a VXLAN device otherwise (mode auto picks per
//     peer; host-gw and vxlan force one data path);
//   - while it uses VXLAN, filters it in the same table (see
//     vxlanfilter.go): VXLAN is accepted only from the nodes' addresses,
//     decapsulated packets only from the tunnelled peers' pod CIDRs, and
//     this node's pods may not send VXLAN to a node, which the masquerade
//     would otherwise pass off as the node's own;
//   - masquerades pod traffic that leaves the cluster CIDRs, in the nftables
//     table "inet plinth" of its own (through knftables): a nat chain whose
//     rules match interval sets of the cluster CIDRs, one per IP family.
//     The sets are updated in place, so rules, their handles and counters
//     survive, and chains of other parts of the agent in the same table are
//     left alone;
//   - installs the plinth-cni binary into the CNI bin dir and writes
//     10-plinth.conflist (cniVersion 1.1.0) into the CNI conf dir, both
//     atomically and only once the routes are in place;
//   - writes its state file last, which turns the plugin's STATUS ready.
//
// The cluster CIDRs come from the first source that has them (see
// ClusterSettings): the ClusterNetwork "default", the --cluster-cidrs flag,
// kubeadm's ClusterConfiguration, and otherwise the union of every Node's
// pod CIDRs, which follows the Nodes as they come and go.
//
// Sync is a function of the node list and the kernel state, so it can be
// driven without an API server (the multi-node tests do so in network
// namespaces). Reconciler wires it to controller-runtime: every Node event
// re-runs Sync over the cached Node list. A failure never stops the process
// (storage runs in it too): the reconciler retries with backoff and reports
// the failure through its readiness check and an Event on the Node.
//
// Sweeper releases the IPAM reservations of sandboxes the runtime never
// deleted, by comparing them with the pods bound to the node.
//
// Cleanup removes everything the agent added to the node, and Uninstall the
// IPAM store too, even with pods still holding addresses.
// InstallPlugin and InstallLoopback put the binaries in place before the
// agent runs (plinth-node install-cni).
//
// Wiring into plinth-node:
//
//	a, err := agent.New(agent.Config{NodeName: nodeName, Masquerade: true, PluginBinary: "/plinth-cni"})
//	if err != nil { ... } // invalid flags
//	r := &agent.Reconciler{Client: mgr.GetClient(), Agent: a, Resolve: agent.ClusterSettings(mgr.GetAPIReader())}
//	if err := r.SetupWithManager(mgr); err != nil { ... }
//	if err := mgr.AddReadyzCheck("network", r.ReadyzCheck); err != nil { ... }
//	if err := a.NewSweeper().SetupWithManager(mgr); err != nil { ... }
//
// The RBAC the agent needs is declared by kubebuilder markers in this
// package: Nodes (get/list/watch), Pods (get/list/watch; the sweeper caches
// only its node's), the ClusterNetwork and kubeadm's ConfigMap (get), and
// Events.
package agent
