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
	"slices"
	"testing"

	"github.com/containernetworking/cni/pkg/skel"
	"github.com/containernetworking/cni/pkg/types"
	"github.com/containernetworking/plugins/pkg/ns"
	"github.com/containernetworking/plugins/pkg/testutils"

	"github.com/plinth-dev/plinth/cni-plugin/ipam"
	"github.com/plinth-dev/plinth/cni-plugin/plugin"
	"github.com/plinth-dev/plinth/test/netnstest"
)

// ADD whose CNI_NETNS is the plugin's own netns (the host's, for a runtime)
// must fail with code 4 before it changes anything: no address reserved,
// no veth, and the namespace's default route untouched.
func TestAddRefusesThePluginsOwnNetns(t *testing.T) {
	n := newNode(t)
	p := &plugin.Plugin{}
	netnstest.MustRun(t, n.hostNS, "ip", "link", "add", "uplink", "type", "veth", "peer", "name", "uplink-peer")
	netnstest.MustRun(t, n.hostNS, "ip", "addr", "add", "192.0.2.10/24", "dev", "uplink")
	netnstest.MustRun(t, n.hostNS, "ip", "link", "set", "uplink", "up")
	netnstest.MustRun(t, n.hostNS, "ip", "route", "add", "default", "via", "192.0.2.1")
	before := netnstest.MustRun(t, n.hostNS, "ip", "route", "show")
	// The same namespace by its path and by another path to it.
	for _, path := range []string{n.hostNS.Path(), "/proc/thread-self/ns/net"} {
		args := &skel.CmdArgs{ContainerID: "self", Netns: path, IfName: "eth0", StdinData: n.conf("1.1.0", nil)}
		err := n.hostNS.Do(func(ns.NetNS) error {
			_, _, err := testutils.CmdAddWithArgs(args, func() error { return p.Add(args) })
			return err
		})
		if err == nil {
			t.Fatalf("ADD into the plugin's own netns via %s succeeded", path)
		}
		if code := cniCode(t, err); code != types.ErrInvalidEnvironmentVariables {
			t.Errorf("ADD via %s: code %d (%v), want %d", path, code, err, types.ErrInvalidEnvironmentVariables)
		}
	}
	if after := netnstest.MustRun(t, n.hostNS, "ip", "route", "show"); after != before {
		t.Errorf("routes changed by the refused ADD:\nbefore:\n%s\nafter:\n%s", before, after)
	}
	n.assertClean(t)
	// A pod's own netns still works.
	if _, err := (inProcess{n: n, p: p}).add(t, "1.1.0", "pod", netnstest.NewNS(t)); err != nil {
		t.Fatalf("ADD into a pod netns: %v", err)
	}
}

// GC of one plinth-cni network must not touch another plinth-cni network's
// attachments on the same node, not even those its own store does not
// know; its own orphans it still removes.
func TestGCLeavesOtherNetworksAlone(t *testing.T) {
	n := newNode(t)
	p := &plugin.Plugin{}
	podA, podB, podOrphan := netnstest.NewNS(t), netnstest.NewNS(t), netnstest.NewNS(t)
	nets := map[string]map[string]any{
		"net-a": {"name": "net-a"},
		"net-b": {"name": "net-b", "ranges": []string{"10.245.1.0/24"}},
	}
	add := func(network, cid string, pod ns.NetNS) {
		t.Helper()
		args := &skel.CmdArgs{ContainerID: cid, Netns: pod.Path(), IfName: "eth0", StdinData: n.conf("1.1.0", nets[network])}
		if err := n.hostNS.Do(func(ns.NetNS) error {
			_, _, err := testutils.CmdAddWithArgs(args, func() error { return p.Add(args) })
			return err
		}); err != nil {
			t.Fatalf("ADD %s on %s: %v", cid, network, err)
		}
	}
	add("net-a", "a", podA)
	add("net-b", "b", podB)
	add("net-a", "orphan", podOrphan)
	// An orphan of net-a: its veth is left but the store forgot it.
	storeA, err := ipam.Open(n.dataDir, "net-a")
	if err != nil {
		t.Fatal(err)
	}
	if err := storeA.Release(keyFor("orphan")); err != nil {
		t.Fatal(err)
	}
	linksBefore := n.hostLinks(t)
	if len(linksBefore) != 3 {
		t.Fatalf("host veths before GC: %v, want 3", linksBefore)
	}
	gc := nets["net-a"]
	gc["cni.dev/valid-attachments"] = []types.GCAttachment{{ContainerID: "a", IfName: "eth0"}}
	args := &skel.CmdArgs{StdinData: n.conf("1.1.0", gc)}
	if err := n.hostNS.Do(func(ns.NetNS) error { return p.GC(args) }); err != nil {
		t.Fatalf("GC of net-a: %v", err)
	}
	after := n.hostLinks(t)
	if len(after) != 2 {
		t.Errorf("host veths after GC of net-a: %v, want net-a's valid one and net-b's", after)
	}
	for _, pod := range []ns.NetNS{podA, podB} {
		if _, err := netnstest.Run(pod, "ip", "link", "show", "eth0"); err != nil {
			t.Errorf("GC of net-a removed a live attachment's interface: %v", err)
		}
	}
	if _, err := netnstest.Run(podOrphan, "ip", "link", "show", "eth0"); err == nil {
		t.Error("GC of net-a left its own orphan veth")
	}
	if slices.Equal(after, linksBefore) {
		t.Error("GC removed nothing")
	}
}
