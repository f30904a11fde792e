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
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/containernetworking/cni/pkg/skel"
	"github.com/containernetworking/cni/pkg/types"
	current "github.com/containernetworking/cni/pkg/types/100"
	"github.com/containernetworking/plugins/pkg/ns"
	"github.com/containernetworking/plugins/pkg/testutils"
	"github.com/safchain/ethtool"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/plinth-dev/plinth/cni-plugin/agent"
	"github.com/plinth-dev/plinth/cni-plugin/plugin"
	"github.com/plinth-dev/plinth/test/netnstest"
	"github.com/plinth-dev/plinth/test/prereq"
)

const (
	outsideV4 = "203.0.113.2"
	outsideV6 = "2001:db8:113::2"
	pingWait  = 10 * time.Second
)

var clusterCIDRs = []string{"10.244.0.0/16", "fd00:10:244::/48"}

// simNode is a netns standing in for a Kubernetes node, with its agent.
type simNode struct {
	name    string
	netns   ns.NetNS
	dir     string
	agent   *agent.Agent
	node    corev1.Node
	pods    []simPod
	offload agent.ChecksumOffload
}

type simPod struct {
	id    string
	netns ns.NetNS
	ips   []string
}

// cluster is a set of simulated nodes, a router netns joining their
// underlay, and an outside host reachable only through the router.
type cluster struct {
	router  ns.NetNS
	outside ns.NetNS
	nodes   []*simNode
}

func nsName(n ns.NetNS) string { return filepath.Base(n.Path()) }

func TestPodsReachEachOtherAndOutside(t *testing.T) {
	tests := []struct {
		name      string
		build     func(t testing.TB) *cluster
		mode      agent.Mode
		wantVXLAN bool
	}{
		{"host-gw on one shared subnet", sharedSubnet, agent.ModeAuto, false},
		{"vxlan across routed subnets", routedSubnets, agent.ModeAuto, true},
		{"vxlan forced on one shared subnet", sharedSubnet, agent.ModeVXLAN, true},
		{"host-gw forced on one shared subnet", sharedSubnet, agent.ModeHostGW, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			prereq.Root(t)
			prereq.Commands(t, "ip", "ping", "nft")
			c := tt.build(t)
			c.startAgents(t, tt.mode)
			c.assertDataPath(t, tt.wantVXLAN)
			c.assertNodesReady(t)
			c.addPods(t, 2)
			c.pingAll(t)
			c.tearDown(t)
		})
	}
}

func newCluster(t testing.TB) *cluster {
	c := &cluster{router: netnstest.NewNS(t), outside: netnstest.NewNS(t)}
	for _, fam := range []string{"net.ipv4.ip_forward=1", "net.ipv6.conf.all.forwarding=1"} {
		netnstest.MustRun(t, c.router, "sysctl", "-qw", fam)
	}
	netnstest.MustRun(t, c.router, "ip", "link", "add", "out", "type", "veth", "peer", "name", "eth0", "netns", nsName(c.outside))
	c.addr(t, c.router, "out", "203.0.113.1/24", "2001:db8:113::1/64")
	c.addr(t, c.outside, "eth0", outsideV4+"/24", outsideV6+"/64")
	// The outside host knows the node underlay, never the pod CIDRs.
	netnstest.MustRun(t, c.outside, "ip", "route", "add", "192.168.0.0/16", "via", "203.0.113.1")
	netnstest.MustRun(t, c.outside, "ip", "-6", "route", "add", "fd00:100::/32", "via", "2001:db8:113::1")
	return c
}

func (c *cluster) addr(t testing.TB, netns ns.NetNS, dev string, addrs ...string) {
	t.Helper()
	for _, a := range addrs {
		netnstest.MustRun(t, netns, "ip", "addr", "add", a, "dev", dev, "nodad")
	}
	netnstest.MustRun(t, netns, "ip", "link", "set", dev, "up")
}

// sharedSubnet puts three nodes on one bridge: 192.168.100.0/24.
func sharedSubnet(t testing.TB) *cluster {
	c := newCluster(t)
	netnstest.MustRun(t, c.router, "ip", "link", "add", "br0", "type", "bridge")
	c.addr(t, c.router, "br0", "192.168.100.254/24", "fd00:100::254/64")
	for i := 1; i <= 3; i++ {
		n := c.newNode(t, i, fmt.Sprintf("192.168.100.%d", i), fmt.Sprintf("fd00:100::%d", i))
		port := fmt.Sprintf("n%d", i)
		netnstest.MustRun(t, c.router, "ip", "link", "add", port, "type", "veth", "peer", "name", "eth0", "netns", nsName(n.netns))
		netnstest.MustRun(t, c.router, "ip", "link", "set", port, "master", "br0", "up")
		c.addr(t, n.netns, "eth0", n.internal(0)+"/24", n.internal(1)+"/64")
		n.defaultVia(t, "192.168.100.254", "fd00:100::254")
	}
	return c
}

// routedSubnets gives each node its own subnet behind the router.
func routedSubnets(t testing.TB) *cluster {
	c := newCluster(t)
	for i := 1; i <= 3; i++ {
		n := c.newNode(t, i, fmt.Sprintf("192.168.1%d.2", i), fmt.Sprintf("fd00:100:%d::2", i))
		port := fmt.Sprintf("n%d", i)
		netnstest.MustRun(t, c.router, "ip", "link", "add", port, "type", "veth", "peer", "name", "eth0", "netns", nsName(n.netns))
		c.addr(t, c.router, port, fmt.Sprintf("192.168.1%d.1/24", i), fmt.Sprintf("fd00:100:%d::1/64", i))
		c.addr(t, n.netns, "eth0", n.internal(0)+"/24", n.internal(1)+"/64")
		n.defaultVia(t, fmt.Sprintf("192.168.1%d.1", i), fmt.Sprintf("fd00:100:%d::1", i))
	}
	return c
}

func (c *cluster) newNode(t testing.TB, i int, v4, v6 string) *simNode {
	// Tests exercise the software-checksum path; benchmarks use the default.
	n := &simNode{name: fmt.Sprintf("node-%d", i), netns: netnstest.NewNS(t), dir: t.TempDir(), offload: agent.ChecksumOffloadOff}
	writeFakePlugin(n.dir)
	n.node = corev1.Node{
		ObjectMeta: metav1.ObjectMeta{Name: n.name},
		Spec:       corev1.NodeSpec{PodCIDRs: []string{fmt.Sprintf("10.244.%d.0/24", i), fmt.Sprintf("fd00:10:244:%d::/64", i)}},
		Status: corev1.NodeStatus{Addresses: []corev1.NodeAddress{
			{Type: corev1.NodeHostName, Address: n.name},
			{Type: corev1.NodeInternalIP, Address: v4},
			{Type: corev1.NodeInternalIP, Address: v6},
		}},
	}
	c.nodes = append(c.nodes, n)
	return n
}

func (n *simNode) internal(i int) string { return n.node.Status.Addresses[1+i].Address }

func (n *simNode) defaultVia(t testing.TB, v4, v6 string) {
	netnstest.MustRun(t, n.netns, "ip", "route", "add", "default", "via", v4)
	netnstest.MustRun(t, n.netns, "ip", "-6", "route", "add", "default", "via", v6)
}

func (n *simNode) config(mode agent.Mode) agent.Config {
	return agent.Config{
		NodeName:             n.name,
		ClusterCIDRs:         clusterCIDRs,
		Mode:                 mode,
		Masquerade:           true,
		PluginBinary:         filepath.Join(n.dir, "plinth-cni-image-copy"),
		CNIBinDir:            filepath.Join(n.dir, "bin"),
		CNIConfDir:           filepath.Join(n.dir, "net.d"),
		DataDir:              filepath.Join(n.dir, "data"),
		StateFile:            filepath.Join(n.dir, "run", "agent.json"),
		VXLANChecksumOffload: n.offload,
	}
}

func writeFakePlugin(dir string) {
	if err := os.WriteFile(filepath.Join(dir, "plinth-cni-image-copy"), []byte("#!/bin/sh\n"), 0o755); err != nil {
		panic(err)
	}
}

func (c *cluster) nodeList() []corev1.Node {
	out := make([]corev1.Node, 0, len(c.nodes))
	for _, n := range c.nodes {
		out = append(out, n.node)
	}
	return out
}

func (c *cluster) startAgents(t testing.TB, mode agent.Mode) {
	t.Helper()
	c.startAgentsWith(t, mode, nil)
}

// startAgentsWith starts the agents with their configs changed by edit.
func (c *cluster) startAgentsWith(t testing.TB, mode agent.Mode, edit func(*agent.Config)) {
	t.Helper()
	for _, n := range c.nodes {
		cfg := n.config(mode)
		if edit != nil {
			edit(&cfg)
		}
		a, err := agent.New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		n.agent = a
		// Clean up the agent even if the test fails half-way.
		t.Cleanup(func() { _ = n.netns.Do(func(ns.NetNS) error { return a.Cleanup(context.Background()) }) })
		n.sync(t, c.nodeList())
	}
}

// sync runs the node's agent over nodes.
func (n *simNode) sync(t testing.TB, nodes []corev1.Node) {
	t.Helper()
	if err := n.netns.Do(func(ns.NetNS) error { return n.agent.Sync(context.Background(), nodes) }); err != nil {
		t.Fatalf("Sync on %s: %v", n.name, err)
	}
}

// pluginConf turns the agent's conflist into the plugin's stdin, as the
// runtime does.
func (n *simNode) pluginConf(t testing.TB) []byte {
	t.Helper()
	data, err := os.ReadFile(n.agent.ConflistPath())
	if err != nil {
		t.Fatalf("conflist not written: %v", err)
	}
	var list struct {
		CNIVersion string           `json:"cniVersion"`
		Name       string           `json:"name"`
		Plugins    []map[string]any `json:"plugins"`
	}
	if err := json.Unmarshal(data, &list); err != nil {
		t.Fatal(err)
	}
	conf := list.Plugins[0]
	conf["cniVersion"], conf["name"] = list.CNIVersion, list.Name
	out, err := json.Marshal(conf)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func (c *cluster) addPods(t testing.TB, perNode int) {
	t.Helper()
	for _, n := range c.nodes {
		n.addPods(t, perNode)
	}
}

// addPods attaches count more pods to the node.
func (n *simNode) addPods(t testing.TB, count int) {
	t.Helper()
	for range count {
		n.attach(t, "")
	}
}

// attach adds a pod to the node with the given CNI_ARGS, as the runtime
// does on ADD.
func (n *simNode) attach(t testing.TB, cniArgs string) simPod {
	t.Helper()
	pod := simPod{id: fmt.Sprintf("%s-pod-%d", n.name, len(n.pods)), netns: netnstest.NewNS(t)}
	args := &skel.CmdArgs{ContainerID: pod.id, Netns: pod.netns.Path(), IfName: "eth0", Args: cniArgs, StdinData: n.pluginConf(t)}
	var res types.Result
	err := n.netns.Do(func(ns.NetNS) error {
		var err error
		res, _, err = testutils.CmdAddWithArgs(args, func() error { return (&plugin.Plugin{}).Add(args) })
		return err
	})
	if err != nil {
		t.Fatalf("ADD %s: %v", pod.id, err)
	}
	cur, err := current.NewResultFromResult(res)
	if err != nil {
		t.Fatal(err)
	}
	for _, ip := range cur.IPs {
		pod.ips = append(pod.ips, ip.Address.IP.String())
	}
	n.pods = append(n.pods, pod)
	return pod
}

func (c *cluster) pingAll(t testing.TB) {
	t.Helper()
	var all []simPod
	for _, n := range c.nodes {
		all = append(all, n.pods...)
	}
	for _, from := range all {
		targets := []string{outsideV4, outsideV6}
		for _, to := range all {
			if to.id != from.id {
				targets = append(targets, to.ips...)
			}
		}
		for _, dst := range targets {
			if err := netnstest.Eventually(pingWait, func() error { return netnstest.Ping(from.netns, dst) }); err != nil {
				t.Errorf("%s cannot reach %s: %v", from.id, dst, err)
			}
		}
	}
}

func (c *cluster) tearDown(t testing.TB) {
	t.Helper()
	p := &plugin.Plugin{}
	for _, n := range c.nodes {
		conf := n.pluginConf(t)
		for _, pod := range n.pods {
			args := &skel.CmdArgs{ContainerID: pod.id, Netns: pod.netns.Path(), IfName: "eth0", StdinData: conf}
			if err := n.netns.Do(func(ns.NetNS) error { return p.Del(args) }); err != nil {
				t.Errorf("DEL %s: %v", pod.id, err)
			}
		}
		for range 2 { // Cleanup must be repeatable
			if err := n.netns.Do(func(ns.NetNS) error { return n.agent.Cleanup(context.Background()) }); err != nil {
				t.Errorf("Cleanup on %s: %v", n.name, err)
			}
		}
		n.assertNothingLeft(t)
	}
}

func (n *simNode) assertNothingLeft(t testing.TB) {
	t.Helper()
	links := netnstest.MustRun(t, n.netns, "ip", "-o", "link", "show")
	if strings.Contains(links, plugin.HostVethPrefix) || strings.Contains(links, agent.DefaultVXLANDevice) {
		t.Errorf("%s: links left behind:\n%s", n.name, links)
	}
	for _, fam := range []string{"-4", "-6"} {
		routes := netnstest.MustRun(t, n.netns, "ip", fam, "route", "show", "proto", "201")
		if strings.TrimSpace(routes) != "" {
			t.Errorf("%s: agent routes left behind:\n%s", n.name, routes)
		}
	}
	if tables := netnstest.MustRun(t, n.netns, "nft", "list", "tables"); strings.Contains(tables, "plinth") {
		t.Errorf("%s: nftables table left behind:\n%s", n.name, tables)
	}
	cfg := n.config("")
	for _, f := range []string{
		filepath.Join(cfg.CNIConfDir, "10-plinth.conflist"), cfg.StateFile, filepath.Join(cfg.CNIBinDir, "plinth-cni"),
		filepath.Join(cfg.CNIBinDir, "loopback"), cfg.DataDir,
	} {
		if _, err := os.Stat(f); !os.IsNotExist(err) {
			t.Errorf("%s: %s left behind", n.name, f)
		}
	}
}

func (c *cluster) assertDataPath(t testing.TB, wantVXLAN bool) {
	t.Helper()
	for _, n := range c.nodes {
		_, err := netnstest.Run(n.netns, "ip", "link", "show", agent.DefaultVXLANDevice)
		if hasVXLAN := err == nil; hasVXLAN != wantVXLAN {
			t.Errorf("%s: VXLAN device present = %v, want %v", n.name, hasVXLAN, wantVXLAN)
		}
		if wantVXLAN && n.offload == agent.ChecksumOffloadOff {
			assertChecksumOffloadOff(t, n.netns)
		}
		routes := netnstest.MustRun(t, n.netns, "ip", "-4", "route", "show", "proto", "201")
		if got := len(strings.Split(strings.TrimSpace(routes), "\n")); got != len(c.nodes)-1 {
			t.Errorf("%s: %d routes to other nodes, want %d:\n%s", n.name, got, len(c.nodes)-1, routes)
		}
	}
}

func TestOutsideIsUnreachableWithoutMasquerade(t *testing.T) {
	prereq.Root(t)
	prereq.Commands(t, "ip", "ping", "nft")
	c := sharedSubnet(t)
	c.nodes = c.nodes[:1]
	n := c.nodes[0]
	cfg := n.config(agent.ModeAuto)
	cfg.Masquerade = false
	a, err := agent.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	n.agent = a
	if err := n.netns.Do(func(ns.NetNS) error { return a.Sync(context.Background(), c.nodeList()) }); err != nil {
		t.Fatal(err)
	}
	c.addPods(t, 1)
	// Proves the premise of the masquerade test: the outside host cannot
	// answer a pod address. One probe suffices: nothing here is settling.
	if err := netnstest.Ping(n.pods[0].netns, outsideV4); err == nil {
		t.Error("outside host answered a pod address without masquerade")
	}
	if err := netnstest.Ping(n.pods[0].netns, n.internal(0)); err != nil {
		t.Errorf("pod cannot reach its own node: %v", err)
	}
	c.tearDown(t)
}

func TestSyncFollowsNodeDeletionAndReturn(t *testing.T) {
	prereq.Root(t)
	prereq.Commands(t, "ip", "nft")
	for _, build := range []func(testing.TB) *cluster{sharedSubnet, routedSubnets} {
		c := build(t)
		c.startAgents(t, agent.ModeAuto)
		n := c.nodes[0]
		gone := c.nodes[2].node.Spec.PodCIDRs[0]
		sync := func(nodes []corev1.Node) {
			t.Helper()
			if err := n.netns.Do(func(ns.NetNS) error { return n.agent.Sync(context.Background(), nodes) }); err != nil {
				t.Fatalf("Sync: %v", err)
			}
		}
		sync(c.nodeList()[:2])
		if routes := netnstest.MustRun(t, n.netns, "ip", "route", "show", "proto", "201"); strings.Contains(routes, strings.TrimSuffix(gone, "/24")) {
			t.Errorf("route to deleted node's %s kept:\n%s", gone, routes)
		}
		sync(c.nodeList())
		sync(c.nodeList()) // idempotent
		if routes := netnstest.MustRun(t, n.netns, "ip", "route", "show", "proto", "201"); !strings.Contains(routes, strings.TrimSuffix(gone, "/24")) {
			t.Errorf("route to returned node's %s missing:\n%s", gone, routes)
		}
		c.tearDown(t)
	}
}

func assertChecksumOffloadOff(t testing.TB, netns ns.NetNS) {
	t.Helper()
	var features map[string]bool
	err := netns.Do(func(ns.NetNS) error {
		e, err := ethtool.NewEthtool()
		if err != nil {
			return err
		}
		defer e.Close()
		features, err = e.Features(agent.DefaultVXLANDevice)
		return err
	})
	if err != nil {
		t.Fatalf("failed to read VXLAN device features: %v", err)
	}
	if on, ok := features["tx-checksum-ip-generic"]; !ok || on {
		t.Errorf("tx checksum offload on VXLAN device = %v (known: %v), want off", on, ok)
	}
}

// assertNodesReady checks what Sync leaves for the runtime: the installed
// plugin binary and a conflist whose plugin reports ready on STATUS.
func (c *cluster) assertNodesReady(t testing.TB) {
	t.Helper()
	for _, n := range c.nodes {
		cfg := n.config("")
		info, err := os.Stat(filepath.Join(cfg.CNIBinDir, "plinth-cni"))
		if err != nil || info.Mode().Perm() != 0o755 {
			t.Errorf("%s: plugin not installed executable: %v %v", n.name, info, err)
		}
		args := &skel.CmdArgs{StdinData: n.pluginConf(t)}
		if err := (&plugin.Plugin{}).Status(args); err != nil {
			t.Errorf("%s: STATUS after Sync: %v", n.name, err)
		}
	}
}
