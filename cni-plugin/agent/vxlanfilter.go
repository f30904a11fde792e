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
	"context"
	"errors"
	"fmt"
	"net/netip"
	"os/exec"
	"slices"
	"strconv"

	"sigs.k8s.io/knftables"

	"github.com/plinth-dev/plinth/cni-plugin/plugin"
)

// The VXLAN filter's objects in the agent's table. While the node uses
// VXLAN, three base chains guard it:
//
//   - vxlan-input drops VXLAN (UDP to the agent's port) whose outer source
//     is not a known node's InternalIP: nobody else can inject packets into
//     the pod network;
//   - vxlan-decap drops decapsulated packets, arriving on the VXLAN device,
//     whose source is not in a tunnelled peer's pod CIDRs, before conntrack
//     sees them: a node, or anyone who gets a packet past vxlan-input,
//     cannot inject packets with the source of this node's pods, of a
//     host-gw peer's, or of anything outside the cluster;
//   - vxlan-from-pods drops VXLAN that this node's pods send to a node
//     address. Such a packet would leave the node masqueraded to the node's
//     InternalIP, which vxlan-input trusts, and its inner source would be
//     the pod's choice; a pod has no business sending VXLAN to a node.
//
// The sets change in place as nodes come and go; the rules only with the
// VXLAN port and device, and are rewritten only when they differ from the
// agent's (see identified).
const (
	vxlanInputChain = "vxlan-input"
	vxlanDecapChain = "vxlan-decap"
	vxlanPodsChain  = "vxlan-from-pods"
	vxlanNodesV4    = "vxlan-nodes4"
	vxlanNodesV6    = "vxlan-nodes6"
	vxlanPodCIDRsV4 = "vxlan-podcidrs4"
	vxlanPodCIDRsV6 = "vxlan-podcidrs6"
)

// vxlanFilterChains are the filter's base chains with their hooks. The
// decap filter runs at raw priority, ahead of conntrack.
var vxlanFilterChains = []*knftables.Chain{
	{Name: vxlanInputChain, Type: knftables.PtrTo(knftables.FilterType),
		Hook: knftables.PtrTo(knftables.InputHook), Priority: knftables.PtrTo(knftables.FilterPriority)},
	{Name: vxlanDecapChain, Type: knftables.PtrTo(knftables.FilterType),
		Hook: knftables.PtrTo(knftables.PreroutingHook), Priority: knftables.PtrTo(knftables.RawPriority)},
	{Name: vxlanPodsChain, Type: knftables.PtrTo(knftables.FilterType),
		Hook: knftables.PtrTo(knftables.ForwardHook), Priority: knftables.PtrTo(knftables.FilterPriority)},
}

// vxlanFilterRules are the filter's rules per chain, for the agent's port
// and device.
func (a *Agent) vxlanFilterRules() map[string][]*knftables.Rule {
	port := strconv.Itoa(a.cfg.VXLANPort)
	dev := a.cfg.VXLANDevice
	pods := plugin.HostVethPrefix + "*"
	return map[string][]*knftables.Rule{
		vxlanInputChain: {
			identified(vxlanInputChain, "drop IPv4 VXLAN from unknown hosts",
				"udp dport "+port+" ip saddr != @"+vxlanNodesV4+" counter drop"),
			identified(vxlanInputChain, "drop IPv6 VXLAN from unknown hosts",
				"udp dport "+port+" ip6 saddr != @"+vxlanNodesV6+" counter drop"),
		},
		vxlanDecapChain: {
			identified(vxlanDecapChain, "drop decapsulated IPv4 from outside the tunnelled peers",
				`iifname "`+dev+`" ip saddr != @`+vxlanPodCIDRsV4+" counter drop"),
			identified(vxlanDecapChain, "drop decapsulated IPv6 from outside the tunnelled peers",
				`iifname "`+dev+`" ip6 saddr != @`+vxlanPodCIDRsV6+" counter drop"),
		},
		vxlanPodsChain: {
			identified(vxlanPodsChain, "drop IPv4 VXLAN from pods to nodes",
				`iifname "`+pods+`" udp dport `+port+" ip daddr @"+vxlanNodesV4+" counter drop"),
			identified(vxlanPodsChain, "drop IPv6 VXLAN from pods to nodes",
				`iifname "`+pods+`" udp dport `+port+" ip6 daddr @"+vxlanNodesV6+" counter drop"),
		},
	}
}

// vxlanFilterSets are the filter's sets: the nodes' addresses and the
// tunnelled peers' pod CIDRs, per family.
var vxlanFilterSets = []*knftables.Set{
	{Name: vxlanNodesV4, Type: "ipv4_addr"},
	{Name: vxlanNodesV6, Type: "ipv6_addr"},
	{Name: vxlanPodCIDRsV4, Type: "ipv4_addr", Flags: []knftables.SetFlag{knftables.IntervalFlag}},
	{Name: vxlanPodCIDRsV6, Type: "ipv6_addr", Flags: []knftables.SetFlag{knftables.IntervalFlag}},
}

// syncVXLANFilter programs the VXLAN filter while the node has tunnelled
// peers, and removes it otherwise, in one transaction.
func (a *Agent) syncVXLANFilter(ctx context.Context, self nodeInfo, peers, tunnelled []nodeInfo) error {
	if len(tunnelled) == 0 {
		return a.deleteVXLANFilter(ctx)
	}
	nft, err := a.nft.get()
	if err != nil {
		return err
	}
	tx := nft.NewTransaction()
	tx.Add(&knftables.Table{})
	var nodes []netip.Addr
	for _, n := range append([]nodeInfo{self}, peers...) {
		nodes = append(nodes, addressesOf(n)...)
	}
	var cidrs []netip.Prefix
	for _, p := range tunnelled {
		cidrs = append(cidrs, p.podCIDRs...)
	}
	for _, set := range vxlanFilterSets {
		tx.Add(set)
		tx.Flush(&knftables.Set{Name: set.Name})
	}
	for _, ip := range nodes {
		tx.Add(&knftables.Element{Set: familySet(ip.Is4(), vxlanNodesV4, vxlanNodesV6), Key: []string{ip.String()}})
	}
	for _, p := range outermost(cidrs) {
		tx.Add(&knftables.Element{Set: familySet(p.Addr().Is4(), vxlanPodCIDRsV4, vxlanPodCIDRsV6), Key: []string{p.String()}})
	}
	rules := a.vxlanFilterRules()
	for _, chain := range vxlanFilterChains {
		tx.Add(chain)
		current, err := nft.ListRules(ctx, chain.Name)
		if err != nil && !knftables.IsNotFound(err) {
			return fmt.Errorf("failed to list the rules of %s: %w", chain.Name, err)
		}
		if !sameRules(current, rules[chain.Name]) {
			tx.Flush(&knftables.Chain{Name: chain.Name})
			for _, r := range rules[chain.Name] {
				tx.Add(r)
			}
		}
	}
	if err := nft.Run(ctx, tx); err != nil {
		return fmt.Errorf("failed to program the VXLAN filter: %w", err)
	}
	return nil
}

func familySet(v4 bool, set4, set6 string) string {
	if v4 {
		return set4
	}
	return set6
}

// deleteVXLANFilter removes the filter's chains and sets and leaves the
// rest of the table alone.
func (a *Agent) deleteVXLANFilter(ctx context.Context) error {
	nft, err := a.nft.get()
	if errors.Is(err, exec.ErrNotFound) {
		return nil // without nft, the agent cannot have made any
	}
	if err != nil {
		return err
	}
	chains, err := nft.List(ctx, "chains")
	if err != nil && !knftables.IsNotFound(err) {
		return fmt.Errorf("failed to list nftables chains: %w", err)
	}
	sets, err := nft.List(ctx, "sets")
	if err != nil && !knftables.IsNotFound(err) {
		return fmt.Errorf("failed to list nftables sets: %w", err)
	}
	tx := nft.NewTransaction()
	for _, c := range vxlanFilterChains { // first: their rules use the sets
		if slices.Contains(chains, c.Name) {
			tx.Delete(&knftables.Chain{Name: c.Name})
		}
	}
	for _, s := range vxlanFilterSets {
		if slices.Contains(sets, s.Name) {
			tx.Delete(&knftables.Set{Name: s.Name})
		}
	}
	if tx.NumOperations() == 0 {
		return nil
	}
	if err := nft.Run(ctx, tx); err != nil {
		return fmt.Errorf("failed to remove the VXLAN filter: %w", err)
	}
	return nil
}
