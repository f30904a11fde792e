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

package agent_test

import (
	"context"
	"os"
	"testing"

	"github.com/containernetworking/plugins/pkg/ns"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/events"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"

	"github.com/plinth-dev/plinth/cni-plugin/agent"
	"github.com/plinth-dev/plinth/test/prereq"
)

func TestReconcilerSyncsFromTheNodeList(t *testing.T) {
	prereq.Root(t)
	prereq.Commands(t, "ip", "nft")
	c := sharedSubnet(t)
	objs := make([]corev1.Node, 0, len(c.nodes))
	objs = append(objs, c.nodeList()...)
	builder := fake.NewClientBuilder()
	for i := range objs {
		builder = builder.WithObjects(&objs[i])
	}
	n := c.nodes[0]
	a, err := agent.New(n.config(agent.ModeAuto))
	if err != nil {
		t.Fatal(err)
	}
	n.agent = a
	t.Cleanup(func() { _ = n.netns.Do(func(ns.NetNS) error { return a.Cleanup(context.Background()) }) })
	rec := events.NewFakeRecorder(10)
	r := &agent.Reconciler{Client: builder.Build(), Agent: a, Recorder: rec}
	req := ctrl.Request{NamespacedName: types.NamespacedName{Name: "node-2"}}
	var res ctrl.Result
	err = n.netns.Do(func(ns.NetNS) error {
		var err error
		res, err = r.Reconcile(context.Background(), req)
		return err
	})
	if err != nil {
		t.Fatalf("Reconcile: %v", err)
	}
	if res.RequeueAfter == 0 {
		t.Error("Reconcile does not schedule a periodic resync")
	}
	if _, err := os.Stat(a.ConflistPath()); err != nil {
		t.Errorf("conflist not written: %v", err)
	}
	if err := r.ReadyzCheck(nil); err != nil {
		t.Errorf("not ready after a successful sync: %v", err)
	}
	wantEvents(t, rec, "Normal ClusterCIDRs cluster CIDRs from flag", "Normal NetworkReady")
	c.nodes = c.nodes[:1]
	c.tearDown(t)
}
