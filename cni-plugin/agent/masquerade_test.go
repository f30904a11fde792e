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

package agent_test

import (
	"context"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/containernetworking/plugins/pkg/ns"

	"github.com/plinth-dev/plinth/cni-plugin/agent"
	"github.com/plinth-dev/plinth/test/netnstest"
	"github.com/plinth-dev/plinth/test/prereq"
)

// masqRule is the IPv4 masquerade rule as nft lists it with handles.
var masqRule = regexp.MustCompile(`ip saddr @cluster4 ip daddr != @cluster4 counter packets (\d+) bytes \d+ masquerade .*# handle (\d+)`)

// masqState is what must survive an update of the cluster CIDRs.
type masqState struct {
	tableHandle, ruleHandle string
	packets                 int
}

func readMasq(t *testing.T, n *simNode) masqState {
	t.Helper()
	out := netnstest.MustRun(t, n.netns, "nft", "-a", "list", "table", "inet", "plinth")
	m := masqRule.FindStringSubmatch(out)
	table := regexp.MustCompile(`table inet plinth \{ # handle (\d+)`).FindStringSubmatch(out)
	if m == nil || table == nil {
		t.Fatalf("%s: no masquerade rule in:\n%s", n.name, out)
	}
	packets, _ := strconv.Atoi(m[1])
	return masqState{tableHandle: table[1], ruleHandle: m[2], packets: packets}
}

func clusterSet(t *testing.T, n *simNode) string {
	t.Helper()
	return netnstest.MustRun(t, n.netns, "nft", "list", "set", "inet", "plinth", "cluster4")
}

// With the chart's defaults (masquerade on, no cluster CIDRs configured) the
// agent masquerades with the Nodes' pod CIDRs as the cluster, and a node
// that joins updates the set in place: table and rule keep their handles
// and the rule its counter.
func TestMasqueradeFollowsTheNodesWithoutClusterCIDRs(t *testing.T) {
	prereq.Root(t)
	prereq.Commands(t, "ip", "ping", "nft")
	c := sharedSubnet(t)
	joining := c.nodes[2]
	c.nodes = c.nodes[:2]
	noCIDRs := func(cfg *agent.Config) { cfg.ClusterCIDRs = nil }
	c.startAgentsWith(t, agent.ModeAuto, noCIDRs)
	c.addPods(t, 1)
	from, to := c.nodes[0], c.nodes[1].pods[0]
	pod := from.pods[0]
	if err := netnstest.Eventually(pingWait, func() error { return netnstest.Ping(pod.netns, outsideV4) }); err != nil {
		t.Fatalf("pod cannot reach outside through the masquerade: %v", err)
	}
	before := readMasq(t, from)
	if before.packets == 0 {
		t.Fatal("traffic to the outside was not masqueraded")
	}
	assertNotMasqueraded(t, from, pod, to.ips[0], before.packets)
	if set := clusterSet(t, from); strings.Contains(set, "10.244.3.0/24") {
		t.Fatalf("cluster set holds the pod CIDR of a node not yet in the cluster:\n%s", set)
	}

	c.nodes = append(c.nodes, joining)
	c.startAgentsWith(t, agent.ModeAuto, noCIDRs) // the new node, and the others see it
	if set := clusterSet(t, from); !strings.Contains(set, "10.244.3.0/24") || !strings.Contains(set, "10.244.1.0/24") {
		t.Errorf("cluster set after the node joined:\n%s", set)
	}
	after := readMasq(t, from)
	if after.tableHandle != before.tableHandle || after.ruleHandle != before.ruleHandle || after.packets < before.packets {
		t.Errorf("update re-created the masquerade: before %+v, after %+v", before, after)
	}
	joining.addPods(t, 1)
	assertNotMasqueraded(t, from, pod, joining.pods[0].ips[0], after.packets)
	c.pingAll(t)
	c.tearDown(t)
}

// assertNotMasqueraded pings dst, a pod address, and checks that the
// masquerade rule did not count it.
func assertNotMasqueraded(t *testing.T, n *simNode, from simPod, dst string, packets int) {
	t.Helper()
	if err := netnstest.Eventually(pingWait, func() error { return netnstest.Ping(from.netns, dst) }); err != nil {
		t.Fatalf("%s cannot reach pod %s: %v", from.id, dst, err)
	}
	if got := readMasq(t, n).packets; got != packets {
		t.Errorf("traffic to pod %s was masqueraded (counter %d -> %d)", dst, packets, got)
	}
}

// The agent's table is shared with other chains of the agent (network
// policy, later): updates and turning masquerade off leave them alone, a
// masquerade chain written by an older agent is rewritten, and only Cleanup
// removes the table.
func TestMasqueradeKeepsOtherChainsOfTheTable(t *testing.T) {
	prereq.Root(t)
	prereq.Commands(t, "ip", "nft")
	c := sharedSubnet(t)
	c.nodes = c.nodes[:1]
	n := c.nodes[0]
	for _, cmd := range []string{
		"add table inet plinth",
		"add chain inet plinth postrouting { type nat hook postrouting priority srcnat; }",
		"add rule inet plinth postrouting ip saddr 10.244.0.0/16 ip daddr != 10.244.0.0/16 masquerade",
		"add chain inet plinth netpol",
		"add set inet plinth pods4 { type ipv4_addr; }",
	} {
		netnstest.MustRun(t, n.netns, "nft", cmd)
	}
	c.startAgents(t, agent.ModeAuto)
	n.sync(t, c.nodeList())
	table := netnstest.MustRun(t, n.netns, "nft", "list", "table", "inet", "plinth")
	if strings.Contains(table, "ip saddr 10.244.0.0/16") || strings.Count(table, "masquerade comment") != 2 {
		t.Errorf("older masquerade rules not replaced:\n%s", table)
	}
	assertHas(t, table, "chain netpol", "set pods4", "set cluster4", "set cluster6")

	cfg := n.config(agent.ModeAuto)
	cfg.Masquerade = false
	off, err := agent.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := n.netns.Do(func(ns.NetNS) error { return off.Sync(context.Background(), c.nodeList()) }); err != nil {
		t.Fatal(err)
	}
	table = netnstest.MustRun(t, n.netns, "nft", "list", "table", "inet", "plinth")
	assertHas(t, table, "chain netpol", "set pods4")
	if strings.Contains(table, "masquerade") || strings.Contains(table, "cluster4") {
		t.Errorf("masquerade left in place after turning it off:\n%s", table)
	}
	c.tearDown(t) // Cleanup removes the table, foreign chains included
}

func assertHas(t *testing.T, table string, want ...string) {
	t.Helper()
	for _, w := range want {
		if !strings.Contains(table, w) {
			t.Errorf("table lacks %q:\n%s", w, table)
		}
	}
}
