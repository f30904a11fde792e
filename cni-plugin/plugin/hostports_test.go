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
	"strings"
	"testing"

	"github.com/containernetworking/cni/pkg/skel"
	"github.com/containernetworking/cni/pkg/types"
	"github.com/containernetworking/plugins/pkg/ns"
	"github.com/containernetworking/plugins/pkg/testutils"

	"github.com/plinth-dev/plinth/cni-plugin/plugin"
	"github.com/plinth-dev/plinth/test/netnstest"
	"github.com/plinth-dev/plinth/test/prereq"
)

var portMappings = map[string]any{"runtimeConfig": map[string]any{"portMappings": []map[string]any{
	{"hostPort": 8080, "containerPort": 80, "protocol": "tcp"},
	{"hostPort": 8053, "containerPort": 53, "protocol": "udp"},
}}}

// dnatRules counts the DNAT rules of the hostPort mappings in the node.
func dnatRules(t *testing.T, n *node) int {
	t.Helper()
	out, err := netnstest.Run(n.hostNS, "nft", "list", "chain", "inet", "plinth", "hp-dnat")
	if err != nil {
		return 0
	}
	return strings.Count(out, " dnat ip")
}

// TestHostPortsFollowAddDelAndGC: ADD with portMappings maps each port for
// both families, DEL with them unmaps, and GC unmaps what a DEL without
// them left.
func TestHostPortsFollowAddDelAndGC(t *testing.T) {
	n := newNode(t)
	prereq.Commands(t, "nft")
	n.markAgentReady(t)
	p := &plugin.Plugin{}
	verb := func(v, cid string, pod ns.NetNS, extra map[string]any) error {
		args := &skel.CmdArgs{ContainerID: cid, IfName: "eth0", StdinData: n.conf("1.1.0", extra)}
		if pod != nil {
			args.Netns = pod.Path()
		}
		return n.hostNS.Do(func(ns.NetNS) error {
			switch v {
			case "ADD":
				_, _, err := testutils.CmdAddWithArgs(args, func() error { return p.Add(args) })
				return err
			case "DEL":
				return testutils.CmdDelWithArgs(args, func() error { return p.Del(args) })
			}
			return p.GC(args)
		})
	}
	pod1, pod2 := netnstest.NewNS(t), netnstest.NewNS(t)
	if err := verb("ADD", "c1", pod1, portMappings); err != nil {
		t.Fatal(err)
	}
	if got := dnatRules(t, n); got != 4 {
		t.Fatalf("after ADD: %d DNAT rules, want 4", got)
	}
	if err := verb("DEL", "c1", pod1, portMappings); err != nil {
		t.Fatal(err)
	}
	if got := dnatRules(t, n); got != 0 {
		t.Errorf("after DEL: %d DNAT rules", got)
	}
	if err := verb("ADD", "c2", pod2, portMappings); err != nil {
		t.Fatal(err)
	}
	if err := verb("DEL", "c2", pod2, nil); err != nil {
		t.Fatal(err)
	}
	if got := dnatRules(t, n); got != 4 {
		t.Fatalf("a DEL without portMappings removed %d rules", 4-got)
	}
	if err := verb("GC", "", nil, map[string]any{"cni.dev/valid-attachments": []types.GCAttachment{}}); err != nil {
		t.Fatal(err)
	}
	if got := dnatRules(t, n); got != 0 {
		t.Errorf("after GC: %d DNAT rules", got)
	}
}
