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

package netpol_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/containernetworking/plugins/pkg/ns"
	"github.com/vishvananda/netlink"
	networkingv1 "k8s.io/api/networking/v1"

	"github.com/plinth-dev/plinth/cni-plugin/netpol"
	"github.com/plinth-dev/plinth/test/netnstest"
	"github.com/plinth-dev/plinth/test/prereq"
)

const (
	testNode   = "node-1"
	vethPrefix = "plx"
	// deniedWait is how long a probe waits for an answer before it counts
	// as denied; a probe whose answer contradicts the expectation is
	// retried with retryWait, so a slow machine does not fail the test.
	deniedWait = 700 * time.Millisecond
	retryWait  = 3 * time.Second
)

// simNode is a network namespace standing in for a node, with pods whose
// veths meet it as the plugin's do.
type simNode struct {
	netns  ns.NetNS
	pods   map[string]ns.NetNS // by namespace/name
	engine *netpol.Engine
}

func newSimNode(t testing.TB) *simNode {
	t.Helper()
	prereq.Root(t)
	prereq.Commands(t, "ip", "nft", "sysctl")
	n := &simNode{netns: netnstest.NewNS(t), pods: map[string]ns.NetNS{}}
	netnstest.MustRun(t, n.netns, "sysctl", "-qw", "net.ipv4.ip_forward=1", "net.ipv6.conf.all.forwarding=1")
	n.restartEngine(t)
	return n
}

// restartEngine replaces the engine with a new one, as a restarted agent
// has: it knows nothing of the kernel's rules.
func (n *simNode) restartEngine(t testing.TB) {
	t.Helper()
	err := n.netns.Do(func(ns.NetNS) error {
		var err error
		n.engine, err = netpol.Open(netpol.DefaultTable, vethPrefix)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}

// addPod attaches a pod netns with the addresses, routed as the plugin
// routes pods: /32 and /128 host routes and permanent neighbours both ways.
func (n *simNode) addPod(t testing.TB, key string, idx int, addrs ...netip.Addr) ns.NetNS {
	t.Helper()
	pod := netnstest.NewNS(t)
	host := fmt.Sprintf("%s%d", vethPrefix, idx)
	netnstest.MustRun(t, n.netns, "ip", "link", "add", host, "type", "veth", "peer", "name", "eth0", "netns", pod.Path())
	netnstest.MustRun(t, n.netns, "ip", "link", "set", host, "up")
	hostMAC := linkMAC(t, n.netns, host)
	podMAC := linkMAC(t, pod, "eth0")
	netnstest.MustRun(t, pod, "sysctl", "-qw", "net.ipv6.conf.eth0.accept_dad=0")
	netnstest.MustRun(t, pod, "ip", "link", "set", "eth0", "up")
	netnstest.MustRun(t, pod, "ip", "route", "add", "169.254.1.1", "dev", "eth0", "scope", "link")
	netnstest.MustRun(t, pod, "ip", "neigh", "add", "169.254.1.1", "lladdr", hostMAC, "dev", "eth0", "nud", "permanent")
	netnstest.MustRun(t, pod, "ip", "neigh", "add", "fe80::1", "lladdr", hostMAC, "dev", "eth0", "nud", "permanent")
	for _, a := range addrs {
		bits, gw, fam := "/32", "169.254.1.1", "-4"
		if a.Is6() {
			bits, gw, fam = "/128", "fe80::1", "-6"
		}
		netnstest.MustRun(t, pod, "ip", "addr", "add", a.String()+bits, "dev", "eth0", "nodad")
		netnstest.MustRun(t, pod, "ip", fam, "route", "add", "default", "via", gw, "dev", "eth0")
		netnstest.MustRun(t, n.netns, "ip", "route", "add", a.String()+bits, "dev", host)
		netnstest.MustRun(t, n.netns, "ip", "neigh", "replace", a.String(), "lladdr", podMAC, "dev", host, "nud", "permanent")
	}
	n.pods[key] = pod
	return pod
}

func linkMAC(t testing.TB, netns ns.NetNS, name string) string {
	t.Helper()
	var mac string
	err := netns.Do(func(ns.NetNS) error {
		l, err := netlink.LinkByName(name)
		if err != nil {
			return fmt.Errorf("failed to find %s: %w", name, err)
		}
		mac = l.Attrs().HardwareAddr.String()
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return mac
}

// serve answers TCP connections and echoes UDP datagrams on the ports, in
// both families, until the test ends.
func serve(t testing.TB, pod ns.NetNS, ports ...uint16) {
	t.Helper()
	err := pod.Do(func(ns.NetNS) error {
		for _, p := range ports {
			ln, err := net.Listen("tcp", fmt.Sprintf(":%d", p))
			if err != nil {
				return fmt.Errorf("failed to listen: %w", err)
			}
			pc, err := net.ListenPacket("udp", fmt.Sprintf(":%d", p))
			if err != nil {
				return fmt.Errorf("failed to listen: %w", err)
			}
			t.Cleanup(func() { _ = ln.Close(); _ = pc.Close() })
			go acceptLoop(ln)
			go echoLoop(pc)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func acceptLoop(ln net.Listener) {
	for {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		go func() {
			_, _ = io.Copy(c, c)
			_ = c.Close()
		}()
	}
}

func echoLoop(pc net.PacketConn) {
	buf := make([]byte, 1500)
	for {
		n, addr, err := pc.ReadFrom(buf)
		if err != nil {
			return
		}
		_, _ = pc.WriteTo(buf[:n], addr)
	}
}

// connect opens a connection from inside the pod; the socket stays in the
// pod's namespace afterwards.
func connect(pod ns.NetNS, proto netpol.Protocol, dst netip.Addr, port uint16, wait time.Duration) (net.Conn, error) {
	var c net.Conn
	err := pod.Do(func(ns.NetNS) error {
		var err error
		c, err = net.DialTimeout(string(proto), netip.AddrPortFrom(dst, port).String(), wait)
		return err
	})
	return c, err
}

// reach reports whether a request from the pod gets its echo within wait:
// the TCP handshake and one round trip, or one UDP round trip.
func reach(pod ns.NetNS, proto netpol.Protocol, dst netip.Addr, port uint16, wait time.Duration) bool {
	c, err := connect(pod, proto, dst, port, wait)
	if err != nil {
		return false
	}
	defer c.Close()
	return echo(c, wait) == nil
}

func echo(c net.Conn, wait time.Duration) error {
	if err := c.SetDeadline(time.Now().Add(wait)); err != nil {
		return fmt.Errorf("failed to set deadline: %w", err)
	}
	if _, err := c.Write([]byte("ping")); err != nil {
		return fmt.Errorf("failed to write: %w", err)
	}
	buf := make([]byte, 4)
	if _, err := io.ReadFull(c, buf); err != nil {
		return fmt.Errorf("failed to read: %w", err)
	}
	return nil
}

// newPolicyNode builds the case world on one simulated node: every pod of
// the world on it, serving ports 80 and 81.
func newPolicyNode(t testing.TB) (*simNode, *world) {
	n := newSimNode(t)
	w := newWorld()
	for i := range w.pods {
		p := &w.pods[i]
		p.Spec.NodeName = testNode
		v4, v6 := addrOf(p, false), addrOf(p, true)
		serve(t, n.addPod(t, p.Namespace+"/"+p.Name, i, v4, v6), probePorts...)
	}
	return n, w
}

func (n *simNode) apply(t testing.TB, w *world, pols []networkingv1.NetworkPolicy) netpol.Stats {
	t.Helper()
	prog := netpol.Compile(netpol.Input{NodeName: testNode, Policies: pols, Pods: w.pods, Namespaces: w.namespaces})
	var stats netpol.Stats
	err := n.netns.Do(func(ns.NetNS) error {
		var err error
		stats, err = n.engine.Apply(context.Background(), prog)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return stats
}

// flushConntrack forgets the connections of earlier cases, whose entries
// would otherwise let their replies (and reused ports) through.
func (n *simNode) flushConntrack(t testing.TB) {
	t.Helper()
	err := n.netns.Do(func(ns.NetNS) error {
		return errors.Join(netlink.ConntrackTableFlush(netlink.ConntrackTable))
	})
	if err != nil {
		t.Fatalf("failed to flush conntrack: %v", err)
	}
}

// checkMatrix probes every pair of the world in parallel and reports each
// result that differs from want.
func (n *simNode) checkMatrix(t *testing.T, probes []probe, want map[string]bool) {
	t.Helper()
	var mu sync.Mutex
	var wrong []string
	sem := make(chan struct{}, 96)
	var wg sync.WaitGroup
	for _, p := range probes {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			src := n.pods[p.src.Namespace+"/"+p.src.Name]
			dst := addrOf(p.dst, p.v6)
			got := reach(src, p.proto, dst, p.port, deniedWait)
			if got != want[p.String()] {
				got = reach(src, p.proto, dst, p.port, retryWait)
			}
			if got != want[p.String()] {
				mu.Lock()
				wrong = append(wrong, fmt.Sprintf("%s: reached=%v, want %v", p, got, want[p.String()]))
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if len(wrong) > 0 {
		t.Errorf("%d of %d probes wrong:\n%s", len(wrong), len(probes), strings.Join(wrong, "\n"))
	}
}

// TestPolicyCasesWithRealTraffic programs every policy case into nftables
// on one node and checks its whole matrix with real TCP and UDP traffic
// between the pods (IPv4 and IPv6, ports 80 and 81) against the reference.
// The cases follow one another on the same node, so each also tests the
// incremental update from the case before.
func TestPolicyCasesWithRealTraffic(t *testing.T) {
	n, base := newPolicyNode(t)
	for _, tc := range policyCases {
		t.Run(tc.name, func(t *testing.T) {
			w := cloneWorld(base)
			if tc.mutate != nil {
				tc.mutate(w)
			}
			n.apply(t, w, tc.policies)
			n.flushConntrack(t)
			probes := w.matrix([]bool{false, true}, probePorts)
			n.checkMatrix(t, probes, expected(w, tc.policies, probes))
		})
	}
}

func cloneWorld(w *world) *world {
	c := &world{}
	for _, ns := range w.namespaces {
		c.namespaces = append(c.namespaces, *ns.DeepCopy())
	}
	for _, p := range w.pods {
		c.pods = append(c.pods, *p.DeepCopy())
	}
	return c
}
