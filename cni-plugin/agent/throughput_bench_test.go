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
	"testing"

	"github.com/containernetworking/plugins/pkg/ns"

	"github.com/plinth-dev/plinth/cni-plugin/agent"
	"github.com/plinth-dev/plinth/test/netnstest"
	"github.com/plinth-dev/plinth/test/prereq"
)

const iperfSeconds = 3

// BenchmarkThroughputAcrossNodes measures TCP throughput from a pod on one
// simulated node to a pod on another, over host-gw routes and over VXLAN,
// next to a bare veth pair measured in the same run (ratio = pods / veth, median over iterations,
// each measuring both back to back).
func BenchmarkThroughputAcrossNodes(b *testing.B) {
	prereq.Root(b)
	prereq.Commands(b, "ip", "nft", "iperf3")
	vethA, vethB := netnstest.BareVeth(b)
	for _, bc := range []struct {
		name  string
		build func(testing.TB) *cluster
	}{
		{"host-gw", sharedSubnet},
		{"vxlan", routedSubnets},
	} {
		c := bc.build(b)
		c.nodes = c.nodes[:2]
		for _, n := range c.nodes {
			n.offload = agent.ChecksumOffloadAuto
		}
		c.startAgents(b, agent.ModeAuto)
		c.addPods(b, 1)
		server, client := c.nodes[1].pods[0], c.nodes[0].pods[0]
		b.Run(bc.name, func(b *testing.B) {
			var pods, bare, ratios []float64
			for b.Loop() {
				p := throughput(b, server.netns, client.netns, server.ips[0])
				v := throughput(b, vethB, vethA, "10.99.0.2")
				pods, bare, ratios = append(pods, p/1e9), append(bare, v/1e9), append(ratios, p/v)
			}
			b.ReportMetric(netnstest.Median(pods), "pod-Gbit/s")
			b.ReportMetric(netnstest.Median(bare), "veth-Gbit/s")
			b.ReportMetric(netnstest.Median(ratios), "ratio")
		})
		c.tearDown(b)
	}
}

func throughput(b *testing.B, server, client ns.NetNS, ip string) float64 {
	b.Helper()
	bps, err := netnstest.Throughput(server, client, ip, iperfSeconds)
	if err != nil {
		b.Fatal(err)
	}
	return bps
}
