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

package plugin_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/containernetworking/cni/pkg/invoke"
	current "github.com/containernetworking/cni/pkg/types/100"
	"github.com/containernetworking/plugins/pkg/ns"

	"github.com/plinth-dev/plinth/test/netnstest"
	"github.com/plinth-dev/plinth/test/prereq"
)

const iperfSeconds = 3

// BenchmarkThroughputSameNode measures pod-to-pod TCP throughput between two
// pods on one node, for plinth-cni and the reference bridge plugin, next to a
// bare veth pair measured in the same run (ratio = pods / bare veth, median over
// iterations, each measuring both back to back).
func BenchmarkThroughputSameNode(b *testing.B) {
	prereq.Commands(b, "iperf3")
	n := newNode(b)
	n.ranges = []string{"10.244.0.0/16"}
	refDir := referencePlugins(b)
	impls := []cniImpl{
		{name: "plinth", path: pluginBinary(b), conf: n.conf("1.1.0", nil)},
		{name: "reference-bridge", path: filepath.Join(refDir, "bridge"), conf: referenceConf(b.TempDir())},
	}
	vethA, vethB := netnstest.BareVeth(b)
	for _, impl := range impls {
		server, client := netnstest.NewNS(b), netnstest.NewNS(b)
		serverIP := attachForBench(b, n, impl, "srv", server)
		attachForBench(b, n, impl, "cli", client)
		b.Run(impl.name, func(b *testing.B) {
			var pods, bare, ratios []float64
			for b.Loop() {
				p := mustThroughput(b, server, client, serverIP)
				v := mustThroughput(b, vethB, vethA, "10.99.0.2")
				pods, bare, ratios = append(pods, p/1e9), append(bare, v/1e9), append(ratios, p/v)
			}
			b.ReportMetric(netnstest.Median(pods), "pod-Gbit/s")
			b.ReportMetric(netnstest.Median(bare), "veth-Gbit/s")
			b.ReportMetric(netnstest.Median(ratios), "ratio")
		})
	}
}

func attachForBench(b *testing.B, n *node, impl cniImpl, cid string, pod ns.NetNS) string {
	b.Helper()
	args := &invoke.Args{Command: "ADD", ContainerID: cid, NetNS: pod.Path(), IfName: "eth0", Path: filepath.Dir(impl.path)}
	var ip string
	err := n.hostNS.Do(func(ns.NetNS) error {
		res, err := invoke.ExecPluginWithResult(context.Background(), impl.path, impl.conf, args, nil)
		if err != nil {
			return err
		}
		cur, err := current.NewResultFromResult(res)
		if err == nil {
			ip = cur.IPs[0].Address.IP.String()
		}
		return err
	})
	if err != nil {
		b.Fatalf("%s ADD: %v", impl.name, err)
	}
	b.Cleanup(func() {
		args.Command = "DEL"
		_ = n.hostNS.Do(func(ns.NetNS) error {
			return invoke.ExecPluginWithoutResult(context.Background(), impl.path, impl.conf, args, nil)
		})
	})
	return ip
}

func mustThroughput(b *testing.B, server, client ns.NetNS, ip string) float64 {
	b.Helper()
	bps, err := netnstest.Throughput(server, client, ip, iperfSeconds)
	if err != nil {
		b.Fatal(err)
	}
	return bps
}
