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
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/containernetworking/cni/pkg/skel"
	"github.com/containernetworking/cni/pkg/types"
	current "github.com/containernetworking/cni/pkg/types/100"
	"github.com/containernetworking/plugins/pkg/ns"
	"github.com/containernetworking/plugins/pkg/testutils"

	"github.com/plinth-dev/plinth/cni-plugin/ipam"
	"github.com/plinth-dev/plinth/cni-plugin/plugin"
	"github.com/plinth-dev/plinth/test/netnstest"
	"github.com/plinth-dev/plinth/test/prereq"
)

const (
	podCIDRv4 = "10.244.1.0/24"
	podCIDRv6 = "fd00:10:244:1::/64"
	testMTU   = 1400
)

// node is a simulated node: a netns standing in for the host side, plus the
// plugin's state directories.
type node struct {
	hostNS    ns.NetNS
	dataDir   string
	stateFile string
	ranges    []string
}

func newNode(t testing.TB) *node {
	t.Helper()
	prereq.Root(t)
	prereq.Commands(t, "ip", "ping")
	dir := t.TempDir()
	return &node{
		hostNS:    netnstest.NewNS(t),
		dataDir:   filepath.Join(dir, "data"),
		stateFile: filepath.Join(dir, "agent.json"),
		ranges:    []string{podCIDRv4, podCIDRv6},
	}
}

func (n *node) conf(version string, extra map[string]any) []byte {
	c := map[string]any{
		"cniVersion":     version,
		"name":           "plinth",
		"type":           "plinth-cni",
		"ranges":         n.ranges,
		"mtu":            testMTU,
		"dataDir":        n.dataDir,
		"agentStateFile": n.stateFile,
	}
	for k, v := range extra {
		c[k] = v
	}
	data, err := json.Marshal(c)
	if err != nil {
		panic(err)
	}
	return data
}

func (n *node) markAgentReady(t testing.TB) {
	t.Helper()
	if err := os.WriteFile(n.stateFile, []byte(`{"node":"test","podCIDRs":["10.244.1.0/24"]}`), 0o600); err != nil {
		t.Fatal(err)
	}
}

func (n *node) store(t testing.TB) *ipam.Store {
	t.Helper()
	s, err := ipam.Open(n.dataDir, "plinth")
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// hostLinks lists the plugin's host-side links in the node's netns.
func (n *node) hostLinks(t testing.TB) []string {
	t.Helper()
	out := netnstest.MustRun(t, n.hostNS, "ip", "-o", "link", "show")
	var links []string
	for _, line := range strings.Split(out, "\n") {
		if f := strings.Fields(line); len(f) > 1 && strings.HasPrefix(f[1], plugin.HostVethPrefix) {
			links = append(links, strings.Split(strings.TrimSuffix(f[1], ":"), "@")[0])
		}
	}
	return links
}

// assertClean fails unless the node holds no allocation, host veth or host
// route to a pod.
func (n *node) assertClean(t testing.TB) {
	t.Helper()
	if allocs, err := n.store(t).List(); err != nil || len(allocs) != 0 {
		t.Errorf("store still holds %v (err %v)", allocs, err)
	}
	if links := n.hostLinks(t); len(links) != 0 {
		t.Errorf("host veths left behind: %v", links)
	}
	for _, fam := range []string{"-4", "-6"} {
		out := netnstest.MustRun(t, n.hostNS, "ip", fam, "route", "show")
		if strings.Contains(out, plugin.HostVethPrefix) {
			t.Errorf("host routes left behind:\n%s", out)
		}
	}
}

// inProcess drives the plugin's verbs in-process, inside the node's netns.
type inProcess struct {
	n *node
	p *plugin.Plugin
}

func (ip inProcess) add(t testing.TB, version, cid string, pod ns.NetNS) (*current.Result, error) {
	t.Helper()
	args := &skel.CmdArgs{ContainerID: cid, Netns: pod.Path(), IfName: "eth0", StdinData: ip.n.conf(version, nil)}
	var res types.Result
	err := ip.n.hostNS.Do(func(ns.NetNS) error {
		var err error
		res, _, err = testutils.CmdAddWithArgs(args, func() error { return ip.p.Add(args) })
		return err
	})
	if err != nil {
		return nil, err
	}
	return toCurrent(t, res), nil
}

func (ip inProcess) run(verb, version, cid string, pod ns.NetNS, extra map[string]any) error {
	args := &skel.CmdArgs{ContainerID: cid, IfName: "eth0", StdinData: ip.n.conf(version, extra)}
	if pod != nil {
		args.Netns = pod.Path()
	}
	return ip.n.hostNS.Do(func(ns.NetNS) error {
		switch verb {
		case "DEL":
			return testutils.CmdDelWithArgs(args, func() error { return ip.p.Del(args) })
		case "CHECK":
			return testutils.CmdCheckWithArgs(args, func() error { return ip.p.Check(args) })
		case "STATUS":
			return testutils.CmdStatus(func() error { return ip.p.Status(args) })
		case "GC":
			return ip.p.GC(args)
		}
		return fmt.Errorf("unknown verb %s", verb)
	})
}

func toCurrent(t testing.TB, res types.Result) *current.Result {
	t.Helper()
	cur, err := current.NewResultFromResult(res)
	if err != nil {
		t.Fatalf("failed to convert result: %v", err)
	}
	return cur
}

// prevResultFor renders res as the prevResult of a CHECK config.
func prevResultFor(t testing.TB, res *current.Result, version string) map[string]any {
	t.Helper()
	conv, err := res.GetAsVersion(version)
	if err != nil {
		t.Fatal(err)
	}
	data, err := json.Marshal(conv)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(data, &m); err != nil {
		t.Fatal(err)
	}
	return map[string]any{"prevResult": m}
}

// cniCode extracts the CNI error code from err, or fails.
func cniCode(t testing.TB, err error) uint {
	t.Helper()
	var e *types.Error
	if !errors.As(err, &e) {
		t.Fatalf("error %v (%T) is not a CNI error", err, err)
	}
	return e.Code
}
