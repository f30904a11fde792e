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

package realnodes

import (
	"context"
	"encoding/json"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/wait"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/plinth-dev/plinth/test/localcluster"
)

const (
	// echoPort is where echo servers answer "hello from <pod name>".
	echoPort = 8080
	// blobPort is where echo servers send /tmp/blob, 1 MiB of random bytes.
	blobPort = 8081
	// echoServer serves every connection to echoPort and blobPort, in the
	// background of a test pod's script.
	echoServer = `dd if=/dev/urandom of=/tmp/blob bs=64k count=16 2>/dev/null
nc -ll -p 8081 -e cat /tmp/blob &
nc -ll -p 8080 -e echo "hello from $(hostname)" &`
	// vxlanDevice is the agent's VXLAN device (its default name).
	vxlanDevice = "plinth.vxlan"
	// ipamStore is plinth-cni's IPAM store of the chart's network on a node.
	ipamStore = "/var/lib/cni/plinth/plinth"
	// hostVethPrefix starts the host end of every pod's veth.
	hostVethPrefix = "plx"
	// execTimeout bounds one command run in a pod.
	execTimeout = time.Minute
)

// listening makes the pod ready only once port accepts connections, probed
// by the kubelet from the node.
func listening(port int) podOption {
	return func(p *corev1.Pod) {
		p.Spec.Containers[0].ReadinessProbe = &corev1.Probe{
			ProbeHandler:  corev1.ProbeHandler{TCPSocket: &corev1.TCPSocketAction{Port: intstr.FromInt(port)}},
			PeriodSeconds: 1,
		}
	}
}

// echoPod is a test pod on node that runs an echo server.
func echoPod(ns, name, node string) *corev1.Pod {
	return testPod(ns, name, echoServer, onNode(node), listening(echoPort))
}

// node returns the cluster's node called name.
func (e *env) node(t testing.TB, name string) *localcluster.Node {
	t.Helper()
	n := e.cluster.Node(name)
	if n == nil {
		t.Fatalf("the cluster has no node %s", name)
	}
	return n
}

// podCIDR is the Node's spec.podCIDR.
func (e *env) podCIDR(t testing.TB, node string) netip.Prefix {
	t.Helper()
	n := &corev1.Node{}
	if err := e.client.Get(t.Context(), client.ObjectKey{Name: node}, n); err != nil {
		t.Fatal(err)
	}
	p, err := netip.ParsePrefix(n.Spec.PodCIDR)
	if err != nil {
		t.Fatalf("node %s has no pod CIDR: %v", node, err)
	}
	return p
}

// podIP is the pod's IP, which must lie in its node's pod CIDR.
func (e *env) podIP(t testing.TB, p *corev1.Pod) netip.Addr {
	t.Helper()
	ip, err := netip.ParseAddr(p.Status.PodIP)
	if err != nil {
		t.Fatalf("pod %s has no IP: %v", p.Name, err)
	}
	if cidr := e.podCIDR(t, p.Spec.NodeName); !cidr.Contains(ip) {
		t.Fatalf("pod %s on %s has IP %s, outside its node's pod CIDR %s", p.Name, p.Spec.NodeName, ip, cidr)
	}
	return ip
}

// pollBefore is poll with a deadline of its own.
func (e *env) pollBefore(t testing.TB, deadline time.Time, what string, cond func(context.Context) (bool, error)) {
	t.Helper()
	ctx, cancel := context.WithDeadline(context.WithoutCancel(t.Context()), deadline)
	defer cancel()
	var last error
	err := wait.PollUntilContextCancel(ctx, 200*time.Millisecond, true, func(ctx context.Context) (bool, error) {
		ok, err := cond(ctx)
		if ctx.Err() == nil { // not the deadline cutting cond short
			last = err
		}
		return ok, nil
	})
	if err != nil {
		t.Fatalf("%s did not happen by %s (last error: %v)", what, deadline.Format(time.TimeOnly), last)
	}
}

// sh runs a shell script in a pod and returns its trimmed output.
func (e *env) sh(ctx context.Context, ns, pod, script string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, execTimeout)
	defer cancel()
	out, err := e.kubectlOut(ctx, "exec", "-n", ns, pod, "--", "sh", "-c", script)
	return strings.TrimSpace(out), err
}

// fetch connects from a pod to addr:port and returns what the server sent.
func (e *env) fetch(ctx context.Context, ns, from, addr string, port int) (string, error) {
	return e.sh(ctx, ns, from, fmt.Sprintf("nc -w 5 %s %d </dev/null", addr, port))
}

// expectReply waits until from reaches the echo server of pod to, and fails
// at once on an answer from anyone else.
func (e *env) expectReply(t testing.TB, ns, from string, to *corev1.Pod) {
	t.Helper()
	ip := e.podIP(t, to)
	want := "hello from " + to.Name
	e.poll(t, fmt.Sprintf("%s to reach %s at %s:%d", from, to.Name, ip, echoPort), func(ctx context.Context) (bool, error) {
		out, err := e.fetch(ctx, ns, from, ip.String(), echoPort)
		if err != nil {
			return false, err
		}
		if out != want {
			t.Fatalf("%s reached %s:%d and got %q, want %q", from, ip, echoPort, out, want)
		}
		return true, nil
	})
}

// expectBlob waits until from receives the blob of the echo server of pod
// to intact, which takes many full-sized segments.
func (e *env) expectBlob(t testing.TB, ns, from string, to *corev1.Pod) {
	t.Helper()
	ip := e.podIP(t, to)
	want, err := e.sh(t.Context(), ns, to.Name, "md5sum </tmp/blob")
	if err != nil {
		t.Fatal(err)
	}
	script := fmt.Sprintf("nc -w 5 %s %d </dev/null | md5sum", ip, blobPort)
	e.poll(t, fmt.Sprintf("%s to receive the blob of %s at %s:%d", from, to.Name, ip, blobPort), func(ctx context.Context) (bool, error) {
		got, err := e.sh(ctx, ns, from, script)
		if err != nil {
			return false, err
		}
		return got == want, fmt.Errorf("received data with checksum %q, sent %q", got, want)
	})
}

// packetsReceived matches busybox ping's summary.
var packetsReceived = regexp.MustCompile(`(\d+) packets transmitted, (\d+) packets received`)

// expectPing waits until three pings from the pod from to pod to all come back.
func (e *env) expectPing(t testing.TB, ns, from string, to *corev1.Pod) {
	t.Helper()
	ip := e.podIP(t, to)
	e.poll(t, fmt.Sprintf("%s to ping %s at %s", from, to.Name, ip), func(ctx context.Context) (bool, error) {
		out, err := e.sh(ctx, ns, from, "ping -c 3 -w 10 "+ip.String())
		m := packetsReceived.FindStringSubmatch(out)
		if m == nil && err != nil {
			return false, err
		}
		if m == nil {
			return false, fmt.Errorf("no ping summary: %s", out)
		}
		if m[1] != "3" || m[2] != "3" {
			return false, fmt.Errorf("%s of %s pings came back: %s", m[2], m[1], out)
		}
		return true, nil
	})
}

// route is one route as `ip route` prints it.
type route struct {
	dst, via, dev string
}

// parseRoute reads the destination, gateway and device of the first line.
func parseRoute(out string) route {
	line, _, _ := strings.Cut(strings.TrimSpace(out), "\n")
	f := strings.Fields(line)
	var r route
	if len(f) > 0 {
		r.dst = f[0]
	}
	for i := 1; i+1 < len(f); i++ {
		switch f[i] {
		case "via":
			r.via = f[i+1]
		case "dev":
			r.dev = f[i+1]
		}
	}
	return r
}

func (r route) String() string { return fmt.Sprintf("%s via %q dev %q", r.dst, r.via, r.dev) }

// routeTo is the node's route to exactly cidr; a zero route when there is none.
func routeTo(ctx context.Context, n *localcluster.Node, cidr string) (route, error) {
	out, err := n.Run(ctx, "ip", "route", "show", cidr)
	if err != nil {
		return route{}, fmt.Errorf("failed to show the route to %s on %s: %w", cidr, n.Name(), err)
	}
	return parseRoute(out), nil
}

// waitRoute waits until the node's route to cidr satisfies ok, and returns it.
func (e *env) waitRoute(t testing.TB, n *localcluster.Node, cidr netip.Prefix, what string, ok func(route) bool) route {
	t.Helper()
	var r route
	e.poll(t, fmt.Sprintf("%s's route to %s %s", n.Name(), cidr, what), func(ctx context.Context) (bool, error) {
		var err error
		r, err = routeTo(ctx, n, cidr.String())
		if err != nil {
			return false, err
		}
		if ok(r) {
			return true, nil
		}
		return false, fmt.Errorf("the route is %v", r)
	})
	return r
}

// isVXLAN reports whether the node's device dev is a VXLAN device.
func isVXLAN(ctx context.Context, n *localcluster.Node, dev string) (bool, error) {
	out, err := n.Run(ctx, "ip", "-d", "link", "show", "dev", dev)
	if err != nil {
		return false, fmt.Errorf("failed to show %s on %s: %w", dev, n.Name(), err)
	}
	return strings.Contains(out, " vxlan id "), nil
}

// txPackets counts the packets the node's device dev has sent.
func txPackets(ctx context.Context, n *localcluster.Node, dev string) (uint64, error) {
	out, err := n.Run(ctx, "ip", "-j", "-s", "link", "show", "dev", dev)
	if err != nil {
		return 0, fmt.Errorf("failed to show %s on %s: %w", dev, n.Name(), err)
	}
	var links []struct {
		Stats struct {
			TX struct {
				Packets uint64 `json:"packets"`
			} `json:"tx"`
		} `json:"stats64"`
	}
	if err := json.Unmarshal([]byte(out), &links); err != nil || len(links) != 1 {
		return 0, fmt.Errorf("failed to read the statistics of %s on %s (%w): %s", dev, n.Name(), err, out)
	}
	return links[0].Stats.TX.Packets, nil
}

// masqueradeCounter matches the packet counter of the agent's IPv4
// masquerade rule in `nft list chain inet plinth postrouting`.
var masqueradeCounter = regexp.MustCompile(`ip saddr @cluster4 ip daddr != @cluster4 counter packets (\d+) bytes \d+ masquerade`)

// masqueraded counts the connections the node's agent masqueraded.
func masqueraded(ctx context.Context, n *localcluster.Node) (uint64, error) {
	out, err := n.Run(ctx, "nft", "list", "chain", "inet", "plinth", "postrouting")
	if err != nil {
		return 0, fmt.Errorf("failed to list the masquerade chain on %s: %w", n.Name(), err)
	}
	m := masqueradeCounter.FindStringSubmatch(out)
	if m == nil {
		return 0, fmt.Errorf("no IPv4 masquerade rule on %s:\n%s", n.Name(), out)
	}
	return strconv.ParseUint(m[1], 10, 64)
}

// reservation is one IPAM reservation file of plinth-cni on a node.
type reservation struct {
	// id names the attachment (and, by its first 12 characters, its veth).
	id  string
	ips []string
	// podUID is the pod the record says the addresses are for.
	podUID string
	// created is when the addresses were reserved.
	created time.Time
}

// veth is the host end of the attachment's veth pair.
func (r reservation) veth() string { return hostVethPrefix + r.id[:12] }

// reservationName matches "<id>_<ip>[_<ip>]", the store's file names.
var reservationName = regexp.MustCompile(`^([0-9a-f]{32})_(.+)$`)

// reservations lists the node's IPAM reservations by attachment ID.
func reservations(n *localcluster.Node) (map[string]reservation, error) {
	dir := n.HostPath(ipamStore)
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("failed to list the IPAM store of %s: %w", n.Name(), err)
	}
	out := map[string]reservation{}
	for _, entry := range entries {
		m := reservationName.FindStringSubmatch(entry.Name())
		if m == nil {
			continue
		}
		r := reservation{id: m[1], ips: strings.Split(m[2], "_")}
		data, err := os.ReadFile(filepath.Join(dir, entry.Name()))
		if os.IsNotExist(err) {
			continue // released meanwhile
		}
		if err != nil {
			return nil, fmt.Errorf("failed to read reservation %s of %s: %w", entry.Name(), n.Name(), err)
		}
		var rec struct {
			PodUID  string    `json:"podUID"`
			Created time.Time `json:"created"`
		}
		if err := json.Unmarshal(data, &rec); err != nil {
			return nil, fmt.Errorf("failed to decode reservation %s of %s: %w", entry.Name(), n.Name(), err)
		}
		r.podUID, r.created = rec.PodUID, rec.Created
		out[r.id] = r
	}
	return out, nil
}

// hostVeths lists the node's veths named as plinth-cni names them.
func hostVeths(ctx context.Context, n *localcluster.Node) (map[string]bool, error) {
	out, err := n.Run(ctx, "ip", "-o", "link", "show", "type", "veth")
	if err != nil {
		return nil, fmt.Errorf("failed to list the veths of %s: %w", n.Name(), err)
	}
	veths := map[string]bool{}
	for line := range strings.Lines(out) {
		// "12: plx0123456789ab@if2: <BROADCAST,..."
		f := strings.Fields(line)
		if len(f) < 2 {
			continue
		}
		name, _, _ := strings.Cut(strings.TrimSuffix(f[1], ":"), "@")
		if strings.HasPrefix(name, hostVethPrefix) {
			veths[name] = true
		}
	}
	return veths, nil
}
