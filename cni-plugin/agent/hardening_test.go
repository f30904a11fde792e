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
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/containernetworking/plugins/pkg/ns"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/plinth-dev/plinth/cni-plugin/agent"
	"github.com/plinth-dev/plinth/test/netnstest"
	"github.com/plinth-dev/plinth/test/prereq"
)

// rogueNode is a Node object created now, after the simulated nodes.
func rogueNode(name, ip string, cidrs ...string) corev1.Node {
	return corev1.Node{
		ObjectMeta: metav1.ObjectMeta{Name: name, CreationTimestamp: metav1.Now()},
		Spec:       corev1.NodeSpec{PodCIDRs: cidrs},
		Status:     corev1.NodeStatus{Addresses: []corev1.NodeAddress{{Type: corev1.NodeInternalIP, Address: ip}}},
	}
}

// Rogue Node objects appear: one with a default pod CIDR and one with a
// /25 inside node-2's /24, where node-2's pods live. The nodes keep their
// default routes, route neither block, and their pods still reach each
// other and the outside.
func TestRogueNodesCannotHijackRoutes(t *testing.T) {
	prereq.Root(t)
	prereq.Commands(t, "ip", "ping", "nft")
	c := sharedSubnet(t)
	c.startAgents(t, agent.ModeAuto)
	rogues := []corev1.Node{
		rogueNode("rogue-default", "192.168.100.50", "0.0.0.0/0", "::/0"),
		rogueNode("rogue-inside", "192.168.100.51", "10.244.2.0/25"),
	}
	nodes := append(c.nodeList(), rogues...)
	for _, n := range c.nodes {
		n.sync(t, nodes)
	}
	for _, n := range c.nodes {
		for _, fam := range []string{"-4", "-6"} {
			def := netnstest.MustRun(t, n.netns, "ip", fam, "route", "show", "default")
			if !strings.Contains(def, "via 192.168.100.254") && !strings.Contains(def, "via fd00:100::254") {
				t.Errorf("%s: default route replaced:\n%s", n.name, def)
			}
			own := netnstest.MustRun(t, n.netns, "ip", fam, "route", "show", "proto", "201")
			if strings.Contains(own, "default") || strings.Contains(own, "10.244.2.0/25") {
				t.Errorf("%s: rogue route programmed:\n%s", n.name, own)
			}
		}
	}
	c.addPods(t, 1)
	c.pingAll(t)
	c.tearDown(t)
}

// spy counts, in a pod, the packets that arrive from a source.
type spy struct {
	pod ns.NetNS
}

var packetsRE = regexp.MustCompile(`counter packets (\d+)`)

func newSpy(t *testing.T, pod ns.NetNS, sources ...string) spy {
	t.Helper()
	netnstest.MustRun(t, pod, "nft", "add", "table", "ip", "spy")
	netnstest.MustRun(t, pod, "nft", "add", "chain", "ip", "spy", "in", "{ type filter hook prerouting priority -300 ; }")
	for _, s := range sources {
		netnstest.MustRun(t, pod, "nft", "add", "rule", "ip", "spy", "in", "ip", "saddr", s, "counter", "comment", `"`+s+`"`)
	}
	return spy{pod: pod}
}

// received returns how many packets from source arrived.
func (s spy) received(t *testing.T, source string) int {
	t.Helper()
	for _, line := range strings.Split(netnstest.MustRun(t, s.pod, "nft", "list", "chain", "ip", "spy", "in"), "\n") {
		if m := packetsRE.FindStringSubmatch(line); m != nil && strings.Contains(line, `"`+source+`"`) {
			n, _ := strconv.Atoi(m[1])
			return n
		}
	}
	t.Fatalf("no spy rule for %s", source)
	return 0
}

// dropped sums the packet counters of a chain of the agent's table.
func dropped(t *testing.T, netns ns.NetNS, chain string) int {
	t.Helper()
	sum := 0
	for _, m := range packetsRE.FindAllStringSubmatch(netnstest.MustRun(t, netns, "nft", "list", "chain", "inet", "plinth", chain), -1) {
		n, _ := strconv.Atoi(m[1])
		sum += n
	}
	return sum
}

// vxlanAttacker gives netns a VXLAN device of the cluster's VNI aimed at
// remote, which sends to dst, with the inner source src, frames addressed
// to the VTEP MAC of the receiving node.
func vxlanAttacker(t *testing.T, netns ns.NetNS, remote, src, dst, mac string) {
	t.Helper()
	netnstest.MustRun(t, netns, "ip", "link", "add", "spoof", "type", "vxlan", "id", strconv.Itoa(agent.DefaultVXLANID),
		"dstport", strconv.Itoa(agent.DefaultVXLANPort), "remote", remote)
	netnstest.MustRun(t, netns, "ip", "addr", "add", src+"/32", "dev", "spoof")
	netnstest.MustRun(t, netns, "ip", "link", "set", "spoof", "up")
	netnstest.MustRun(t, netns, "ip", "route", "add", dst+"/32", "dev", "spoof")
	netnstest.MustRun(t, netns, "ip", "neigh", "replace", dst, "lladdr", mac, "dev", "spoof", "nud", "permanent")
}

// send pings dst from src a few times; no reply is expected.
func send(netns ns.NetNS, src, dst string) {
	_, _ = netnstest.Run(netns, "ping", "-c", "3", "-i", "0.2", "-W", "1", "-I", src, dst)
}

func vtepMACOf(t *testing.T, n *simNode) string {
	t.Helper()
	out := netnstest.MustRun(t, n.netns, "ip", "-o", "link", "show", agent.DefaultVXLANDevice)
	m := regexp.MustCompile(`link/ether ([0-9a-f:]+)`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("no MAC in %s", out)
	}
	return m[1]
}

// VXLAN into node-2 with spoofed pod sources: from a host outside the
// cluster, from a pod on node-1 (whose packets node-1 would masquerade to
// its own, trusted, address) and from node-1 itself with a source outside
// the tunnelled peers' pod CIDRs. None reaches node-2's pod; each is
// counted by the rule that drops it; legitimate traffic keeps flowing.
func TestVXLANAcceptsOnlyNodesAndTheirPodSources(t *testing.T) {
	prereq.Root(t)
	prereq.Commands(t, "ip", "ping", "nft")
	c := routedSubnets(t)
	c.startAgents(t, agent.ModeAuto)
	c.addPods(t, 1)
	c.pingAll(t)
	from, to := c.nodes[0], c.nodes[1]
	target := to.pods[0].ips[0]
	mac := vtepMACOf(t, to)
	const (
		outsideSpoof = "10.244.3.77" // node-3's pod CIDR
		podSpoof     = "10.244.3.78" // node-3's pod CIDR
		nodeSpoof    = "198.51.100.9"
	)
	s := newSpy(t, to.pods[0].netns, outsideSpoof, podSpoof, nodeSpoof)
	tests := []struct {
		name     string
		attacker ns.NetNS
		src      string
		setup    func()
		undo     []string
		dropper  *simNode
		chain    string
	}{
		{"host outside the cluster", c.outside, outsideSpoof,
			func() { vxlanAttacker(t, c.outside, to.internal(0), outsideSpoof, target, mac) }, []string{"link", "del", "spoof"}, to, "vxlan-input"},
		{"pod on another node", from.pods[0].netns, podSpoof,
			func() { vxlanAttacker(t, from.pods[0].netns, to.internal(0), podSpoof, target, mac) }, []string{"link", "del", "spoof"}, from, "vxlan-from-pods"},
		{"node with a source outside its peers' pod CIDRs", from.netns, nodeSpoof,
			func() { netnstest.MustRun(t, from.netns, "ip", "addr", "add", nodeSpoof+"/32", "dev", "lo") },
			[]string{"addr", "del", nodeSpoof + "/32", "dev", "lo"}, to, "vxlan-decap"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.setup()
			defer netnstest.MustRun(t, tt.attacker, "ip", tt.undo...)
			before := dropped(t, tt.dropper.netns, tt.chain)
			err := netnstest.Eventually(pingWait, func() error {
				send(tt.attacker, tt.src, target)
				if d := dropped(t, tt.dropper.netns, tt.chain); d == before {
					return fmt.Errorf("%s on %s dropped nothing", tt.chain, tt.dropper.name)
				}
				return nil
			})
			if err != nil {
				t.Error(err)
			}
			if got := s.received(t, tt.src); got != 0 {
				t.Errorf("%d spoofed packets from %s reached the pod on %s", got, tt.src, to.name)
			}
		})
	}
	c.pingAll(t)
	c.tearDown(t)
}
