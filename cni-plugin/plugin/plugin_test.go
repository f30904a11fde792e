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
	"fmt"
	"net/netip"
	"strings"
	"testing"

	"github.com/containernetworking/cni/pkg/types"
	current "github.com/containernetworking/cni/pkg/types/100"
	"github.com/containernetworking/plugins/pkg/ns"
	"github.com/containernetworking/plugins/pkg/testutils"
	"github.com/containernetworking/plugins/pkg/utils/sysctl"

	"github.com/plinth-dev/plinth/cni-plugin/ipam"
	"github.com/plinth-dev/plinth/cni-plugin/plugin"
	"github.com/plinth-dev/plinth/test/netnstest"
)

func TestEveryVerbForEverySpecVersion(t *testing.T) {
	for _, version := range testutils.AllSpecVersions {
		t.Run(version, func(t *testing.T) {
			n := newNode(t)
			drv := inProcess{n: n, p: &plugin.Plugin{}}
			pods := []ns.NetNS{netnstest.NewNS(t), netnstest.NewNS(t)}
			results := make([]*current.Result, len(pods))
			for i, pod := range pods {
				res, err := drv.add(t, version, fmt.Sprintf("c%d", i), pod)
				if err != nil {
					t.Fatalf("ADD: %v", err)
				}
				results[i] = res
				assertPodConfigured(t, pod, res)
			}
			assertPodsReachEachOther(t, pods, results)

			if testutils.SpecVersionHasCHECK(version) {
				if err := drv.run("CHECK", version, "c0", pods[0], prevResultFor(t, results[0], version)); err != nil {
					t.Errorf("CHECK: %v", err)
				}
			}
			if testutils.SpecVersionHasSTATUS(version) {
				assertStatus(t, drv, version)
				assertGCKeepsOnlyValid(t, drv, version, pods)
			}
			for i, pod := range pods {
				for range 2 { // DEL must be idempotent
					if err := drv.run("DEL", version, fmt.Sprintf("c%d", i), pod, nil); err != nil {
						t.Fatalf("DEL: %v", err)
					}
				}
			}
			n.assertClean(t)
		})
	}
}

func assertPodConfigured(t *testing.T, pod ns.NetNS, res *current.Result) {
	t.Helper()
	if len(res.IPs) != 2 {
		t.Fatalf("result has %d IPs, want one per family: %v", len(res.IPs), res)
	}
	for _, c := range res.IPs {
		addr, _ := netip.AddrFromSlice(c.Address.IP)
		if !netip.MustParsePrefix(podCIDRv4).Contains(addr.Unmap()) && !netip.MustParsePrefix(podCIDRv6).Contains(addr) {
			t.Errorf("address %s outside the pod CIDRs", addr)
		}
	}
	out := netnstest.MustRun(t, pod, "ip", "-d", "link", "show", "eth0")
	if !strings.Contains(out, fmt.Sprintf("mtu %d", testMTU)) || !strings.Contains(out, "veth") {
		t.Errorf("eth0 is not a veth with MTU %d:\n%s", testMTU, out)
	}
	if lo := netnstest.MustRun(t, pod, "ip", "link", "show", "lo"); !strings.Contains(lo, "UP") {
		t.Errorf("loopback is down:\n%s", lo)
	}
	err := pod.Do(func(ns.NetNS) error {
		v, err := sysctl.Sysctl("net/ipv6/conf/eth0/accept_ra")
		if err == nil && v != "0" {
			err = fmt.Errorf("accept_ra = %s", v)
		}
		return err
	})
	if err != nil {
		t.Errorf("router advertisements not disabled: %v", err)
	}
}

func assertPodsReachEachOther(t *testing.T, pods []ns.NetNS, results []*current.Result) {
	t.Helper()
	for i, pod := range pods {
		for j, res := range results {
			if i == j {
				continue
			}
			for _, c := range res.IPs {
				dst := c.Address.IP.String()
				if err := netnstest.Eventually(settleTimeout, func() error { return netnstest.Ping(pod, dst) }); err != nil {
					t.Errorf("pod %d cannot reach pod %d at %s: %v", i, j, c.Address.IP, err)
				}
			}
		}
	}
}

func assertStatus(t *testing.T, drv inProcess, version string) {
	t.Helper()
	err := drv.run("STATUS", version, "", nil, nil)
	if err == nil || cniCode(t, err) != types.ErrPluginNotAvailable {
		t.Errorf("STATUS before the agent is ready = %v, want code 50", err)
	}
	drv.n.markAgentReady(t)
	if err := drv.run("STATUS", version, "", nil, nil); err != nil {
		t.Errorf("STATUS after the agent is ready: %v", err)
	}
}

func assertGCKeepsOnlyValid(t *testing.T, drv inProcess, version string, pods []ns.NetNS) {
	t.Helper()
	valid := map[string]any{"cni.dev/valid-attachments": []types.GCAttachment{{ContainerID: "c0", IfName: "eth0"}}}
	if err := drv.run("GC", version, "", nil, valid); err != nil {
		t.Fatalf("GC: %v", err)
	}
	store := drv.n.store(t)
	if _, found, _ := store.Get(ipam.Key{ContainerID: "c0", IfName: "eth0"}); !found {
		t.Error("GC released a valid attachment")
	}
	if _, found, _ := store.Get(ipam.Key{ContainerID: "c1", IfName: "eth0"}); found {
		t.Error("GC kept an attachment not listed as valid")
	}
	if _, err := netnstest.Run(pods[1], "ip", "link", "show", "eth0"); err == nil {
		t.Error("GC left the collected pod's interface in place")
	}
}

func TestDelReleasesWhenNetnsIsGone(t *testing.T) {
	n := newNode(t)
	drv := inProcess{n: n, p: &plugin.Plugin{}}
	pod, err := testutils.NewNS()
	if err != nil {
		t.Fatal(err)
	}
	// Deleted explicitly below; this only covers an early failure.
	t.Cleanup(func() { _ = pod.Close(); _ = testutils.UnmountNS(pod) })
	if _, err := drv.add(t, "1.1.0", "gone", pod); err != nil {
		t.Fatalf("ADD: %v", err)
	}
	path := pod.Path()
	if err := pod.Close(); err != nil {
		t.Fatal(err)
	}
	if err := testutils.UnmountNS(pod); err != nil {
		t.Fatal(err)
	}
	// The kernel removes the veth pair with the netns, asynchronously.
	if err := netnstest.Eventually(settleTimeout, func() error {
		if l := n.hostLinks(t); len(l) != 0 {
			return fmt.Errorf("host veth still present: %v", l)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	for _, netnsPath := range []string{path, ""} {
		args := deletedPodArgs(n, netnsPath)
		if err := n.hostNS.Do(func(ns.NetNS) error { return drv.p.Del(args) }); err != nil {
			t.Fatalf("DEL with netns %q: %v", netnsPath, err)
		}
	}
	n.assertClean(t)
}

func TestAddFailsWhenInterfaceExists(t *testing.T) {
	n := newNode(t)
	drv := inProcess{n: n, p: &plugin.Plugin{}}
	pod := netnstest.NewNS(t)
	netnstest.MustRun(t, pod, "ip", "link", "add", "eth0", "type", "veth", "peer", "name", "peer0")
	if _, err := drv.add(t, "1.1.0", "dup", pod); err == nil {
		t.Fatal("ADD succeeded over an existing eth0")
	}
	n.assertClean(t)
}

func TestAddRetryAfterCrashReusesTheAllocation(t *testing.T) {
	n := newNode(t)
	drv := inProcess{n: n, p: &plugin.Plugin{}}
	pod := netnstest.NewNS(t)
	// A plugin that died right after reserving leaves exactly this behind.
	ranges := []netip.Prefix{netip.MustParsePrefix(podCIDRv4), netip.MustParsePrefix(podCIDRv6)}
	reserved, err := n.store(t).Allocate(ipam.Key{ContainerID: "retry", IfName: "eth0"}, ranges, ipam.Pod{})
	if err != nil {
		t.Fatal(err)
	}
	res, err := drv.add(t, "1.1.0", "retry", pod)
	if err != nil {
		t.Fatalf("retried ADD: %v", err)
	}
	if got := res.IPs[0].Address.IP.String(); got != reserved.IPs[0].String() {
		t.Errorf("retried ADD got %s, want the reserved %s", got, reserved.IPs[0])
	}
	if err := drv.run("DEL", "1.1.0", "retry", pod, nil); err != nil {
		t.Fatal(err)
	}
	n.assertClean(t)
}

func TestErrorsCarrySpecCodes(t *testing.T) {
	n := newNode(t)
	drv := inProcess{n: n, p: &plugin.Plugin{}}
	pod := netnstest.NewNS(t)
	tests := []struct {
		name    string
		extra   map[string]any
		code    uint
		message string
	}{
		{"invalid field is named", map[string]any{"mtu": 100}, types.ErrInvalidNetworkConfig, `"mtu"`},
		{"invalid range is named", map[string]any{"ranges": []string{"nope"}}, types.ErrInvalidNetworkConfig, `"ranges[0]"`},
		{"undecodable field", map[string]any{"mtu": "big"}, types.ErrDecodingFailure, "decode"},
		{"exhausted range asks to retry later", map[string]any{"ranges": []string{"10.9.0.0/30"}}, types.ErrTryAgainLater, "no free"},
	}
	// Fill the /30 so that the exhaustion case has nowhere to go.
	full := []netip.Prefix{netip.MustParsePrefix("10.9.0.0/30")}
	for i := range 2 {
		if _, err := n.store(t).Allocate(ipam.Key{ContainerID: fmt.Sprint("filler", i), IfName: "eth0"}, full, ipam.Pod{}); err != nil {
			t.Fatal(err)
		}
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := addArgs(n, pod, tt.extra)
			err := n.hostNS.Do(func(ns.NetNS) error { return drv.p.Add(args) })
			if err == nil {
				t.Fatal("ADD succeeded")
			}
			if code := cniCode(t, err); code != tt.code || !strings.Contains(err.Error(), tt.message) {
				t.Errorf("error = code %d %q, want code %d mentioning %q", code, err, tt.code, tt.message)
			}
		})
	}
}

func TestCheckFailsWhenTheAttachmentDrifted(t *testing.T) {
	tests := []struct {
		name  string
		drift func(t *testing.T, n *node, pod ns.NetNS)
	}{
		{"pod default route removed", func(t *testing.T, _ *node, pod ns.NetNS) {
			netnstest.MustRun(t, pod, "ip", "-4", "route", "del", "default")
		}},
		{"pod address removed", func(t *testing.T, _ *node, pod ns.NetNS) {
			netnstest.MustRun(t, pod, "ip", "-6", "addr", "flush", "dev", "eth0", "scope", "global")
		}},
		{"host route removed", func(t *testing.T, n *node, _ ns.NetNS) {
			link := n.hostLinks(t)[0]
			netnstest.MustRun(t, n.hostNS, "ip", "-4", "route", "flush", "dev", link)
		}},
		{"allocation released", func(t *testing.T, n *node, _ ns.NetNS) {
			if err := n.store(t).Release(ipam.Key{ContainerID: "drift", IfName: "eth0"}); err != nil {
				t.Fatal(err)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n := newNode(t)
			drv := inProcess{n: n, p: &plugin.Plugin{}}
			pod := netnstest.NewNS(t)
			res, err := drv.add(t, "1.1.0", "drift", pod)
			if err != nil {
				t.Fatal(err)
			}
			prev := prevResultFor(t, res, "1.1.0")
			if err := drv.run("CHECK", "1.1.0", "drift", pod, prev); err != nil {
				t.Fatalf("CHECK before drift: %v", err)
			}
			tt.drift(t, n, pod)
			if err := drv.run("CHECK", "1.1.0", "drift", pod, prev); err == nil {
				t.Error("CHECK passed after drift")
			}
			if err := drv.run("DEL", "1.1.0", "drift", pod, nil); err != nil {
				t.Fatal(err)
			}
			n.assertClean(t)
		})
	}
}

func TestCheckRequiresPrevResult(t *testing.T) {
	n := newNode(t)
	drv := inProcess{n: n, p: &plugin.Plugin{}}
	err := drv.run("CHECK", "1.1.0", "none", netnstest.NewNS(t), nil)
	if err == nil || cniCode(t, err) != types.ErrInvalidNetworkConfig || !strings.Contains(err.Error(), "prevResult") {
		t.Errorf("CHECK without prevResult = %v, want code 7 naming prevResult", err)
	}
}
