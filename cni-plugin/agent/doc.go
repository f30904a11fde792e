// Package agent is the node network agent that runs inside plinth-node. It
// makes a node ready to run pods on the Plinth pod network and keeps the
// node's view of the other nodes current.
//
// On every Sync the agent, given the list of Nodes:
//
//   - programs a route to every other node's pod CIDRs: directly via the
//     peer's InternalIP when the peer is on a directly connected subnet
//     (host-gw), or through a VXLAN device otherwise (mode auto picks per
//     peer; host-gw and vxlan force one data path);
//   - masquerades pod traffic that leaves the cluster CIDRs, in an nftables
//     table of its own that is replaced atomically;
//   - installs the plinth-cni binary into the CNI bin dir and writes
//     10-plinth.conflist (cniVersion 1.1.0) into the CNI conf dir, both
//     atomically and only once the routes are in place;
//   - writes its state file last, which turns the plugin's STATUS ready.
//
// Sync is a function of the node list and the kernel state, so it can be
// driven without an API server (the multi-node tests do so in network
// namespaces). Reconciler wires it to controller-runtime: every Node event
// re-runs Sync over the cached Node list. Cleanup removes everything the
// agent added.
//
// Wiring into plinth-node:
//
//	a, err := agent.New(agent.Config{NodeName: nodeName, ClusterCIDRs: cidrs, PluginBinary: "/plinth-cni"})
//	if err != nil { ... }
//	if err := (&agent.Reconciler{Client: mgr.GetClient(), Agent: a}).SetupWithManager(mgr); err != nil { ... }
//
// The manager's cache must watch Nodes (cluster-scoped get/list/watch RBAC on
// nodes, declared by the Reconciler's kubebuilder markers).
package agent
