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

package hostport_test

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/containernetworking/plugins/pkg/ns"
	"github.com/vishvananda/netlink"

	"github.com/plinth-dev/plinth/cni-plugin/hostport"
	"github.com/plinth-dev/plinth/test/netnstest"
	"github.com/plinth-dev/plinth/test/prereq"
)

const (
	nodeV4, nodeV6   = "192.168.50.1", "fd50::1"
	otherV4, otherV6 = "192.168.50.2", "fd50::2"
	wait             = 2 * time.Second
)

// fixture is a node netns with one pod behind a plx veth, as the plugin
// attaches pods, and another node on the node's underlay.
type fixture struct {
	node, pod, other ns.NetNS
	table            *hostport.Table
	podIPs           []netip.Addr
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	prereq.Root(t)
	prereq.Commands(t, "ip", "nft", "sysctl")
	f := &fixture{node: netnstest.NewNS(t), pod: netnstest.NewNS(t), other: netnstest.NewNS(t),
		podIPs: []netip.Addr{netip.MustParseAddr("10.0.1.2"), netip.MustParseAddr("fd00:1::2")}}
	run := func(n ns.NetNS, args ...string) { netnstest.MustRun(t, n, args[0], args[1:]...) }
	run(f.node, "sysctl", "-qw", "net.ipv4.ip_forward=1", "net.ipv6.conf.all.forwarding=1")
	run(f.node, "ip", "link", "add", "eth0", "type", "veth", "peer", "name", "eth0", "netns", f.other.Path())
	run(f.node, "ip", "addr", "add", nodeV4+"/24", "dev", "eth0")
	run(f.node, "ip", "addr", "add", nodeV6+"/64", "dev", "eth0", "nodad")
	run(f.node, "ip", "link", "set", "eth0", "up")
	run(f.other, "ip", "addr", "add", otherV4+"/24", "dev", "eth0")
	run(f.other, "ip", "addr", "add", otherV6+"/64", "dev", "eth0", "nodad")
	run(f.other, "ip", "link", "set", "eth0", "up")
	run(f.node, "ip", "link", "add", "plx0", "type", "veth", "peer", "name", "eth0", "netns", f.pod.Path())
	run(f.node, "ip", "link", "set", "plx0", "up")
	run(f.pod, "ip", "link", "set", "eth0", "up")
	hostMAC, podMAC := linkMAC(t, f.node, "plx0"), linkMAC(t, f.pod, "eth0")
	run(f.pod, "ip", "route", "add", "169.254.1.1", "dev", "eth0", "scope", "link")
	run(f.pod, "ip", "neigh", "add", "169.254.1.1", "lladdr", hostMAC, "dev", "eth0", "nud", "permanent")
	run(f.pod, "ip", "neigh", "add", "fe80::1", "lladdr", hostMAC, "dev", "eth0", "nud", "permanent")
	for _, a := range f.podIPs {
		bits, gw, fam := "/32", "169.254.1.1", "-4"
		if a.Is6() {
			bits, gw, fam = "/128", "fe80::1", "-6"
		}
		run(f.pod, "ip", "addr", "add", a.String()+bits, "dev", "eth0", "nodad")
		run(f.pod, "ip", fam, "route", "add", "default", "via", gw, "dev", "eth0")
		run(f.node, "ip", "route", "add", a.String()+bits, "dev", "plx0")
		run(f.node, "ip", "neigh", "replace", a.String(), "lladdr", podMAC, "dev", "plx0", "nud", "permanent")
	}
	err := f.node.Do(func(ns.NetNS) error {
		var err error
		f.table, err = hostport.Open("plinth")
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	f.serve(t)
	return f
}

func linkMAC(t *testing.T, n ns.NetNS, name string) string {
	t.Helper()
	var mac string
	err := n.Do(func(ns.NetNS) error {
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

// serve echoes TCP and UDP on port 80 in the pod.
func (f *fixture) serve(t *testing.T) {
	t.Helper()
	err := f.pod.Do(func(ns.NetNS) error {
		ln, err := net.Listen("tcp", ":80")
		if err != nil {
			return fmt.Errorf("failed to listen: %w", err)
		}
		pc, err := net.ListenPacket("udp", ":80")
		if err != nil {
			return fmt.Errorf("failed to listen: %w", err)
		}
		t.Cleanup(func() { _ = ln.Close(); _ = pc.Close() })
		go func() {
			for {
				c, err := ln.Accept()
				if err != nil {
					return
				}
				go func() { _, _ = io.Copy(c, c); _ = c.Close() }()
			}
		}()
		go func() {
			buf := make([]byte, 64)
			for {
				n, addr, err := pc.ReadFrom(buf)
				if err != nil {
					return
				}
				_, _ = pc.WriteTo(buf[:n], addr)
			}
		}()
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func (f *fixture) do(t *testing.T, fn func(context.Context, *hostport.Table) error) {
	t.Helper()
	if err := f.node.Do(func(ns.NetNS) error { return fn(context.Background(), f.table) }); err != nil {
		t.Fatal(err)
	}
}

// reach reports whether an echo over proto to addr:port from inside from
// comes back within wait.
func reach(from ns.NetNS, proto, addr string, port int) bool {
	var c net.Conn
	err := from.Do(func(ns.NetNS) error {
		var err error
		c, err = net.DialTimeout(proto, net.JoinHostPort(addr, fmt.Sprint(port)), wait)
		return err
	})
	if err != nil {
		return false
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(wait))
	if _, err := c.Write([]byte("ping")); err != nil {
		return false
	}
	buf := make([]byte, 4)
	_, err = io.ReadFull(c, buf)
	return err == nil
}

var mappings = []hostport.Mapping{
	{HostPort: 8080, ContainerPort: 80, Protocol: "tcp"},
	{HostPort: 8081, ContainerPort: 80, Protocol: "UDP"},
}

// TestHostPortReachableAndReleased: a mapped port answers from another
// node, from the node itself and from the pod (hairpin), over IPv4 and
// IPv6, TCP and UDP, and answers no more once deleted.
func TestHostPortReachableAndReleased(t *testing.T) {
	f := newFixture(t)
	f.do(t, func(ctx context.Context, tb *hostport.Table) error {
		return tb.Add(ctx, "attach-1", f.podIPs, mappings)
	})
	// A repeated ADD replaces, never duplicates.
	f.do(t, func(ctx context.Context, tb *hostport.Table) error {
		return tb.Add(ctx, "attach-1", f.podIPs, mappings)
	})
	if n := strings.Count(netnstest.MustRun(t, f.node, "nft", "list", "chain", "inet", "plinth", "hp-dnat"), " dnat ip"); n != 4 {
		t.Errorf("got %d DNAT rules, want 4", n)
	}
	type path struct {
		name  string
		from  ns.NetNS
		addrs []string
	}
	paths := []path{{"another node", f.other, []string{nodeV4, nodeV6}}, {"the node", f.node, []string{nodeV4, nodeV6}}, {"the pod (hairpin)", f.pod, []string{nodeV4}}}
	for _, p := range paths {
		for _, addr := range p.addrs {
			if !reach(p.from, "tcp", addr, 8080) || !reach(p.from, "udp", addr, 8081) {
				t.Errorf("from %s, %s:8080/tcp or 8081/udp does not answer", p.name, addr)
			}
		}
	}
	if reach(f.other, "tcp", nodeV4, 8081) {
		t.Error("8081 answers TCP, mapped for UDP only")
	}
	f.do(t, func(ctx context.Context, tb *hostport.Table) error { return tb.Delete(ctx, "attach-1") })
	for _, p := range paths {
		for _, addr := range p.addrs {
			if reach(p.from, "tcp", addr, 8080) || reach(p.from, "udp", addr, 8081) {
				t.Errorf("from %s, %s still answers after DEL", p.name, addr)
			}
		}
	}
}

// TestGCKeepsOnlyValidAttachments removes the mappings of attachments the
// runtime no longer lists.
func TestGCKeepsOnlyValidAttachments(t *testing.T) {
	f := newFixture(t)
	f.do(t, func(ctx context.Context, tb *hostport.Table) error {
		if err := tb.Add(ctx, "live", f.podIPs, mappings[:1]); err != nil {
			return err
		}
		if err := tb.Add(ctx, "gone", f.podIPs, []hostport.Mapping{{HostPort: 9090, ContainerPort: 80, HostIP: nodeV4}}); err != nil {
			return err
		}
		return tb.GC(ctx, func(id string) bool { return id == "live" })
	})
	if !reach(f.other, "tcp", nodeV4, 8080) {
		t.Error("the live attachment's mapping went")
	}
	if reach(f.other, "tcp", nodeV4, 9090) {
		t.Error("the collected attachment's mapping stayed")
	}
	if out := netnstest.MustRun(t, f.node, "nft", "list", "table", "inet", "plinth"); strings.Contains(out, `"gone"`) {
		t.Errorf("rules of the collected attachment remain:\n%s", out)
	}
}
