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
	"net/netip"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/containernetworking/plugins/pkg/ns"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/plinth-dev/plinth/cni-plugin/agent"
	"github.com/plinth-dev/plinth/cni-plugin/netpol"
	"github.com/plinth-dev/plinth/test/netnstest"
)

// TestUnclassifiedPodIsIsolated: a pod the engine does not know yet (the
// CNI ADD made its veth, the agent has not seen its address) neither sends
// nor receives, whatever the policies, until the engine classifies it.
func TestUnclassifiedPodIsIsolated(t *testing.T) {
	n, w := newPolicyNode(t)
	n.apply(t, w, nil)
	v4, v6 := netip.MustParseAddr("10.0.9.2"), netip.MustParseAddr("fd00:9::2")
	newcomer := n.addPod(t, "x/new", 50, v4, v6)
	serve(t, newcomer, 80)
	xa := n.pods["x/a"]
	for _, proto := range protocols {
		if reach(newcomer, proto, addrOf(w.pod("x", "a"), false), 80, deniedWait) {
			t.Errorf("an unclassified pod sent %s", proto)
		}
		if reach(xa, proto, v6, 80, deniedWait) {
			t.Errorf("an unclassified pod received %s", proto)
		}
	}
	w.pods = append(w.pods, corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Namespace: "x", Name: "new", Labels: map[string]string{"pod": "new"}},
		Spec:       corev1.PodSpec{NodeName: testNode},
		Status:     corev1.PodStatus{Phase: corev1.PodRunning, PodIPs: []corev1.PodIP{{IP: v4.String()}, {IP: v6.String()}}},
	})
	n.apply(t, w, nil)
	for _, proto := range protocols {
		if !reach(newcomer, proto, addrOf(w.pod("x", "a"), true), 80, retryWait) || !reach(xa, proto, v4, 80, retryWait) {
			t.Errorf("a classified pod without policy cannot use %s", proto)
		}
	}
}

// TestPolicyChangeWithOpenConnections: as upstream expects, a policy
// applies to new connections; an established one keeps going through
// conntrack. Removing the policy lets new connections through again.
func TestPolicyChangeWithOpenConnections(t *testing.T) {
	n, w := newPolicyNode(t)
	n.apply(t, w, nil)
	src, dst := n.pods["y/a"], addrOf(w.pod("x", "a"), false)
	open, err := connect(src, netpol.TCP, dst, 80, retryWait)
	if err != nil {
		t.Fatal(err)
	}
	defer open.Close()
	if err := echo(open, retryWait); err != nil {
		t.Fatal(err)
	}
	deny := pols(policy("x", "deny", nil, types(networkingIngress)))
	n.apply(t, w, deny)
	if err := echo(open, retryWait); err != nil {
		t.Errorf("the established connection broke: %v", err)
	}
	if reach(src, netpol.TCP, dst, 80, deniedWait) {
		t.Error("a new connection got through the deny policy")
	}
	n.apply(t, w, nil)
	if !reach(src, netpol.TCP, dst, 80, retryWait) {
		t.Error("a new connection is denied after the policy went")
	}
}

const networkingIngress = in

// restartProbe is one probe of the restart loop with its expectation.
type restartProbe struct {
	src   string
	dst   string
	proto netpol.Protocol
	port  uint16
	allow bool
}

// TestRestartOpensNoGap restarts the engine (a new one, knowing nothing,
// as after an agent restart) several times while pods probe in a loop,
// and checks that no allowed probe failed and no denied one got through.
func TestRestartOpensNoGap(t *testing.T) {
	n, w := newPolicyNode(t)
	pols := pols(
		policy("x", "p", l("pod", "a"), from(peers(nsPeer(l("ns", "y")))), types(in, out), to(peers(nsPeer(l("ns", "y")))), to(anyPeer, port(udp, 81))),
	)
	n.apply(t, w, pols)
	probes := []restartProbe{
		{"y/b", "x/a", netpol.TCP, 80, true}, {"y/c", "x/a", netpol.UDP, 81, true},
		{"x/a", "y/a", netpol.TCP, 81, true}, {"x/a", "z/c", netpol.UDP, 81, true},
		{"z/b", "x/a", netpol.TCP, 80, false}, {"x/b", "x/a", netpol.UDP, 80, false},
		{"x/a", "z/a", netpol.TCP, 80, false}, {"x/a", "x/c", netpol.UDP, 80, false},
	}
	var rounds atomic.Int64
	var mu sync.Mutex
	var wrong []string
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			select {
			case <-stop:
				return
			default:
			}
			var wg sync.WaitGroup
			for _, p := range probes {
				wg.Add(1)
				go func() {
					defer wg.Done()
					dst := w.pod(strings.Split(p.dst, "/")[0], strings.Split(p.dst, "/")[1])
					wait := deniedWait
					if p.allow {
						wait = retryWait
					}
					if got := reach(n.pods[p.src], p.proto, addrOf(dst, false), p.port, wait); got != p.allow {
						mu.Lock()
						wrong = append(wrong, p.src+"->"+p.dst+" "+string(p.proto))
						mu.Unlock()
					}
				}()
			}
			wg.Wait()
			rounds.Add(1)
		}
	}()
	waitRounds := func(k int64) {
		target := rounds.Load() + k
		if err := netnstest.Eventually(time.Minute, func() error {
			if rounds.Load() < target {
				return context.DeadlineExceeded
			}
			return nil
		}); err != nil {
			t.Fatal("the probe loop stalled")
		}
	}
	waitRounds(1)
	for range 3 {
		n.restartEngine(t) // the agent is down: only the kernel's rules act
		waitRounds(1)
		n.apply(t, w, pols) // the restarted agent rebuilds in one transaction
		waitRounds(1)
	}
	close(stop)
	<-done
	if len(wrong) > 0 {
		t.Errorf("over %d rounds, wrong probes: %v", rounds.Load(), wrong)
	}
}

// TestDeleteLeavesTheRestOfTheTable: the engine shares the agent's table
// and removes only its own objects.
func TestDeleteLeavesTheRestOfTheTable(t *testing.T) {
	n, w := newPolicyNode(t)
	netnstest.MustRun(t, n.netns, "nft", "add table inet plinth; add set inet plinth cluster4 { type ipv4_addr; }; add chain inet plinth postrouting")
	n.apply(t, w, pols(policy("x", "p", nil, from(peers(cidrPeer("10.0.0.0/8", "10.0.2.0/24"))))))
	err := n.netns.Do(func(ns.NetNS) error { return n.engine.Delete(context.Background()) })
	if err != nil {
		t.Fatal(err)
	}
	out := netnstest.MustRun(t, n.netns, "nft", "list", "table", "inet", "plinth")
	if strings.Contains(out, "np-") || !strings.Contains(out, "cluster4") || !strings.Contains(out, "postrouting") {
		t.Errorf("after Delete:\n%s", out)
	}
}

// TestCleanupNetworkRemovesPolicy: plinth-node --cleanup-network (the
// agent's Cleanup) removes the table, and the policy with it.
func TestCleanupNetworkRemovesPolicy(t *testing.T) {
	n, w := newPolicyNode(t)
	n.apply(t, w, pols(policy("x", "deny", nil, types(in, out))))
	dir := t.TempDir()
	a, err := agent.New(agent.Config{NodeName: testNode, CNIBinDir: filepath.Join(dir, "bin"), CNIConfDir: filepath.Join(dir, "conf"),
		DataDir: filepath.Join(dir, "data"), StateFile: filepath.Join(dir, "state.json")})
	if err != nil {
		t.Fatal(err)
	}
	if err := n.netns.Do(func(ns.NetNS) error { return a.Cleanup(context.Background()) }); err != nil {
		t.Fatal(err)
	}
	if out := netnstest.MustRun(t, n.netns, "nft", "list", "tables"); strings.Contains(out, netpol.DefaultTable) {
		t.Errorf("tables after cleanup:\n%s", out)
	}
}
