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

	"k8s.io/client-go/tools/events"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"

	"github.com/plinth-dev/plinth/cni-plugin/netpol"
)

// TestControllerProgramsAndReports: a reconcile programs the node's pods
// from the listed state, and a policy part the node cannot enforce gets
// one Warning Event while it stays the same.
func TestControllerProgramsAndReports(t *testing.T) {
	w := newWorld()
	bad := policy("x", "bad", nil, from(anyPeer, port("ICMP", 1)))
	objs := []client.Object{&bad}
	for i := range w.pods {
		objs = append(objs, &w.pods[i])
	}
	for i := range w.namespaces {
		objs = append(objs, &w.namespaces[i])
	}
	engine, nft := newFakeEngine()
	rec := events.NewFakeRecorder(10)
	c := &netpol.Controller{NodeName: "node-1", Engine: engine, Recorder: rec, Reader: fake.NewClientBuilder().WithObjects(objs...).Build()}
	for range 2 {
		if _, err := c.Reconcile(context.Background(), ctrl.Request{}); err != nil {
			t.Fatal(err)
		}
	}
	if !strings.Contains(nft.Dump(), "np-forward") || !strings.Contains(nft.Dump(), "jump np-in-") {
		t.Errorf("nothing programmed:\n%s", nft.Dump())
	}
	if len(rec.Events) != 1 {
		t.Fatalf("got %d events, want 1", len(rec.Events))
	}
	if e := <-rec.Events; !strings.Contains(e, netpol.ReasonNotEnforced) || !strings.Contains(e, `"ICMP"`) {
		t.Errorf("event %q", e)
	}
}

// TestControllerWaitsUntilReady: nothing is programmed while the node's
// pod network is not set up.
func TestControllerWaitsUntilReady(t *testing.T) {
	engine, nft := newFakeEngine()
	c := &netpol.Controller{NodeName: "node-1", Engine: engine, Ready: func() bool { return false },
		Reader: fake.NewClientBuilder().Build()}
	res, err := c.Reconcile(context.Background(), ctrl.Request{})
	if err != nil || res.RequeueAfter == 0 {
		t.Fatalf("got %v, %v; want a requeue", res, err)
	}
	if nft.Dump() != "" {
		t.Errorf("programmed before ready:\n%s", nft.Dump())
	}
}
