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
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/knftables"

	"github.com/plinth-dev/plinth/cni-plugin/netpol"
)

// recordingNFT counts the operations of the transactions run on a fake
// table and keeps the last one's text.
type recordingNFT struct {
	*knftables.Fake
	last string
}

func (r *recordingNFT) Run(ctx context.Context, tx *knftables.Transaction) error {
	r.last = tx.String()
	return r.Fake.Run(ctx, tx)
}

func newFakeEngine() (*netpol.Engine, *recordingNFT) {
	nft := &recordingNFT{Fake: knftables.NewFake(knftables.InetFamily, netpol.DefaultTable)}
	return netpol.NewEngine(nft, ""), nft
}

func applyFake(t *testing.T, e *netpol.Engine, w *world, node string, pols []networkingv1.NetworkPolicy) netpol.Stats {
	t.Helper()
	prog := netpol.Compile(netpol.Input{NodeName: node, Policies: pols, Pods: w.pods, Namespaces: w.namespaces})
	stats, err := e.Apply(context.Background(), prog)
	if err != nil {
		t.Fatal(err)
	}
	return stats
}

// TestUpdatesAreIncremental: after the first Apply, a new peer pod adds one
// element per family to the sets that select it and rewrites no chain; no
// transaction ever flushes the table.
func TestUpdatesAreIncremental(t *testing.T) {
	e, nft := newFakeEngine()
	w := newWorld()
	c := pols(policy("x", "p", nil, from(peers(podPeer(l("pod", "b")))), to(anyPeer, namedPort(tcp, "web"))))
	first := applyFake(t, e, w, "node-1", c)
	if strings.Contains(nft.last, "flush table") || strings.Contains(nft.last, "delete table") {
		t.Fatalf("the rebuild touches the table:\n%s", nft.last)
	}
	w.pods = append(w.pods, corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Namespace: "x", Name: "b2", Labels: map[string]string{"pod": "b"}},
		Spec:       corev1.PodSpec{NodeName: "node-2"},
		Status:     corev1.PodStatus{Phase: corev1.PodRunning, PodIPs: []corev1.PodIP{{IP: "10.0.1.9"}, {IP: "fd00:1::9"}}},
	})
	second := applyFake(t, e, w, "node-1", c)
	if second.Operations != 2 || strings.Contains(nft.last, "flush") {
		t.Errorf("a new peer took %d operations, want 2 element adds:\n%s", second.Operations, nft.last)
	}
	if second.Rules != first.Rules {
		t.Errorf("rules changed from %d to %d", first.Rules, second.Rules)
	}
	if third := applyFake(t, e, w, "node-1", c); third.Operations != 0 {
		t.Errorf("an unchanged state took %d operations", third.Operations)
	}
}

// TestRestartRebuildsTheSameTable: a new engine over the table of an old
// one (an agent restart) rebuilds it to the same content, removing what
// the old one left that is no longer wanted.
func TestRestartRebuildsTheSameTable(t *testing.T) {
	e, nft := newFakeEngine()
	w := newWorld()
	old := pols(policy("x", "old", nil, from(peers(cidrPeer("10.0.0.0/8", "10.0.2.0/24")))))
	cur := pols(policy("y", "cur", l("pod", "a"), types(in, out), to(peers(nsPeer(l("ns", "z"))), port(udp, 80))))
	applyFake(t, e, w, "node-1", old)
	restarted := netpol.NewEngine(nft, "")
	applyFake(t, restarted, w, "node-1", cur)
	fresh, freshNFT := newFakeEngine()
	applyFake(t, fresh, w, "node-1", cur)
	if got, want := nft.Dump(), freshNFT.Dump(); got != want {
		t.Errorf("restarted table:\n%s\nwant:\n%s", got, want)
	}
}
