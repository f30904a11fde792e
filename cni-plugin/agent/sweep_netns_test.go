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
	"strings"
	"testing"
	"time"

	"github.com/containernetworking/plugins/pkg/ns"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"

	"github.com/plinth-dev/plinth/cni-plugin/agent"
	"github.com/plinth-dev/plinth/cni-plugin/ipam"
	"github.com/plinth-dev/plinth/cni-plugin/plugin"
	"github.com/plinth-dev/plinth/test/netnstest"
	"github.com/plinth-dev/plinth/test/prereq"
)

// A sandbox the runtime never deleted leaves a reservation, a host veth and
// a host route; the sweep removes all three once the pod is gone, and
// leaves the running pod's attachment alone.
func TestSweepRemovesWhatADeadSandboxLeft(t *testing.T) {
	prereq.Root(t)
	prereq.Commands(t, "ip", "ping", "nft")
	c := sharedSubnet(t)
	c.nodes = c.nodes[:1]
	n := c.nodes[0]
	c.startAgents(t, agent.ModeAuto)
	dead := n.attach(t, "IgnoreUnknown=1;K8S_POD_NAMESPACE=ns;K8S_POD_NAME=gone;K8S_POD_INFRA_CONTAINER_ID=x;K8S_POD_UID=uid-gone")
	live := n.attach(t, "IgnoreUnknown=1;K8S_POD_NAMESPACE=ns;K8S_POD_NAME=live;K8S_POD_UID=uid-live")
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "live", UID: types.UID("uid-live")},
		Spec:       corev1.PodSpec{NodeName: n.name},
		Status:     corev1.PodStatus{Phase: corev1.PodRunning, PodIPs: []corev1.PodIP{{IP: live.ips[0]}, {IP: live.ips[1]}}},
	}
	api := fake.NewClientBuilder().WithObjects(pod).Build()
	s := n.agent.NewSweeper()
	s.Pods, s.APIReader, s.Grace = api, api, time.Nanosecond

	var released []ipam.Reservation
	err := n.netns.Do(func(ns.NetNS) error {
		var err error
		released, err = s.Sweep(context.Background())
		return err
	})
	if err != nil || len(released) != 1 || released[0].Pod.Name != "gone" || released[0].Pod.UID != "uid-gone" {
		t.Fatalf("Sweep = %v, %v; want the dead sandbox's reservation", released, err)
	}
	if links := netnstest.MustRun(t, n.netns, "ip", "-o", "link", "show"); strings.Count(links, plugin.HostVethPrefix) != 1 {
		t.Errorf("want only the live pod's host veth:\n%s", links)
	}
	if routes := netnstest.MustRun(t, n.netns, "ip", "route", "show"); strings.Contains(routes, dead.ips[0]+" ") || !strings.Contains(routes, live.ips[0]+" ") {
		t.Errorf("host routes after the sweep, want %s's only:\n%s", live.ips[0], routes)
	}
	if err := netnstest.Eventually(pingWait, func() error { return netnstest.Ping(live.netns, n.internal(0)) }); err != nil {
		t.Errorf("live pod lost its network: %v", err)
	}
	c.tearDown(t) // DEL of the swept pod must still succeed
}
