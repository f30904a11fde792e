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
	"fmt"
	"slices"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// peerNode is a Node created at the given minute with one InternalIP.
func peerNode(name string, minute int, ip string, cidrs ...string) corev1.Node {
	n := testNode(name, cidrs...)
	n.CreationTimestamp = metav1.NewTime(time.Date(2026, 1, 1, 0, minute, 0, 0, time.UTC))
	n.Status.Addresses[0].Address = ip
	return n
}

// Rogue Nodes: a default route, a block inside an older peer's, a block
// holding this node's, blocks outside the cluster or holding a node's
// address, and unusable addresses are refused with their reason; the
// legitimate peers keep their routes.
func TestViewRefusesRoguePeers(t *testing.T) {
	nodes := []corev1.Node{
		peerNode("self", 0, "192.168.0.1", "10.244.1.0/24", "fd00:10:244:1::/64"),
		peerNode("victim", 1, "192.168.0.2", "10.244.2.0/24"),
		peerNode("default-route", 2, "192.168.0.3", "0.0.0.0/0", "::/0"),
		peerNode("inside-victim", 3, "192.168.0.4", "10.244.2.128/25"),
		peerNode("holds-self", 4, "192.168.0.5", "10.244.0.0/16"),
		peerNode("outside", 5, "192.168.0.6", "10.9.0.0/24"),
		peerNode("underlay", 6, "192.168.0.7", "10.244.7.0/24", "fd00:10:244:7::/64"),
		peerNode("loopback", 7, "127.0.0.1", "10.244.8.0/24"),
		peerNode("pod-address", 8, "10.244.2.9", "10.244.9.0/24"),
		peerNode("same-ip", 9, "192.168.0.2", "10.244.10.0/24"),
	}
	// A block of the cluster that holds the victim's address.
	nodes[6].Status.Addresses[0].Address = "10.244.7.1"
	a, err := New(Config{NodeName: "self", ClusterCIDRs: []string{"10.244.0.0/16", "fd00:10:244::/48"}})
	if err != nil {
		t.Fatal(err)
	}
	v := a.viewOf(nodes)
	var peers []string
	for _, p := range v.peers {
		peers = append(peers, fmt.Sprintf("%s %v", p.name, p.podCIDRs))
	}
	if want := []string{"victim [10.244.2.0/24]"}; !slices.Equal(peers, want) {
		t.Errorf("accepted peers %q, want %q", peers, want)
	}
	var got []string
	for _, r := range v.refusals {
		got = append(got, r.node+" "+r.reason+" "+r.what)
	}
	want := []string{
		"default-route default_route pod CIDR 0.0.0.0/0",
		"default-route default_route pod CIDR ::/0",
		"inside-victim overlaps_peer pod CIDR 10.244.2.128/25",
		"holds-self overlaps_own_node pod CIDR 10.244.0.0/16",
		"outside outside_cluster_cidrs pod CIDR 10.9.0.0/24",
		"underlay invalid_node_address InternalIP 10.244.7.1",
		"loopback invalid_node_address InternalIP 127.0.0.1",
		"pod-address invalid_node_address InternalIP 10.244.2.9",
		"same-ip invalid_node_address InternalIP 192.168.0.2",
	}
	if !slices.Equal(got, want) {
		t.Errorf("refusals:\n%q\nwant:\n%q", got, want)
	}
	if cidrs, _ := a.ClusterCIDRs(nodes); fmt.Sprint(cidrs) != "[10.244.0.0/16 fd00:10:244::/48]" {
		t.Errorf("configured cluster CIDRs changed: %v", cidrs)
	}
}

// Two Nodes claiming the same block: the older keeps it, whichever comes
// first in the list; at the same age the lower name does. Without
// configured cluster CIDRs, the refused blocks stay out of the cluster
// CIDRs the masquerade uses.
func TestViewTieBreakIsOldestThenName(t *testing.T) {
	a, err := New(Config{NodeName: "self"})
	if err != nil {
		t.Fatal(err)
	}
	self := peerNode("self", 0, "192.168.0.1", "10.244.1.0/24")
	for _, tt := range []struct {
		name   string
		nodes  []corev1.Node
		winner string
	}{
		{"older wins", []corev1.Node{self, peerNode("a-new", 9, "192.168.0.2", "10.244.2.0/25"), peerNode("z-old", 1, "192.168.0.3", "10.244.2.0/24")}, "z-old"},
		{"same age: lower name wins", []corev1.Node{self, peerNode("n-b", 1, "192.168.0.2", "10.244.2.0/24"), peerNode("n-a", 1, "192.168.0.3", "10.244.2.0/25")}, "n-a"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			v := a.viewOf(tt.nodes)
			if len(v.peers) != 1 || v.peers[0].name != tt.winner || len(v.refusals) != 1 {
				t.Errorf("peers %+v refusals %+v, want only %s", v.peers, v.refusals, tt.winner)
			}
			rogues := []corev1.Node{
				peerNode("rogue", 5, "192.168.0.9", "0.0.0.0/0"),
				peerNode("underlay", 6, "192.168.1.9", "192.168.0.0/28"),
				peerNode("own-underlay", 7, "192.168.2.9", "192.168.2.0/24"),
			}
			v = a.viewOf(slices.Concat(tt.nodes, rogues))
			var got []string
			for _, r := range v.refusals {
				if r.reason != RefusedOverlapsPeer {
					got = append(got, r.node+" "+r.reason)
				}
			}
			if want := []string{"rogue default_route", "underlay contains_node_address", "own-underlay contains_node_address"}; !slices.Equal(got, want) {
				t.Errorf("refusals %q, want %q", got, want)
			}
			if cidrs, _ := a.ClusterCIDRs(slices.Concat(tt.nodes, rogues)); len(cidrs) != 2 {
				t.Errorf("cluster CIDRs from the Nodes %v, want this node's and the winner's", cidrs)
			}
		})
	}
}
