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

package app

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/rest"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/config"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	"github.com/plinth-dev/plinth/cni-plugin/agent"
	"github.com/plinth-dev/plinth/test/controlplane"
)

// newOfflineManager returns a manager whose API server does not answer:
// setting up must not need one.
func newOfflineManager(t *testing.T) ctrl.Manager {
	t.Helper()
	scheme, err := Scheme()
	if err != nil {
		t.Fatal(err)
	}
	skip := true
	mgr, err := ctrl.NewManager(&rest.Config{Host: "https://127.0.0.1:1"}, ctrl.Options{
		Scheme: scheme, Metrics: metricsserver.Options{BindAddress: "0"}, HealthProbeBindAddress: "0",
		Controller: config.Controller{SkipNameValidation: &skip},
	})
	if err != nil {
		t.Fatal(err)
	}
	return mgr
}

// With the chart's defaults (masquerade on, no cluster CIDRs, no
// ClusterNetwork) and whatever state the API server is in, setting up the
// network agent succeeds: its failures are the reconciler's to retry and
// report, never a reason to stop plinth-node and its CSI driver (issue #10).
func TestSetupNetworkNeedsNothingButValidFlags(t *testing.T) {
	chartDefaults := agent.Config{NodeName: "n1", Mode: agent.ModeAuto, Masquerade: true}
	if err := setupNetwork(t.Context(), newOfflineManager(t), chartDefaults, true); err != nil {
		t.Fatalf("setupNetwork with the chart's defaults: %v", err)
	}
	invalid := agent.Config{NodeName: "n1", Mode: "bgp"}
	if err := setupNetwork(t.Context(), newOfflineManager(t), invalid, true); err == nil {
		t.Error("setupNetwork accepted an unknown --network-mode")
	}
}

// plinth-node on a node the network agent cannot program keeps running:
// the failure shows in the readiness check "network" and in an Event on the
// Node, and the agent recovers by itself when the cause goes away. The
// agent's Node never has pod CIDRs here, so nothing on this machine is
// programmed.
func TestNetworkAgentFailureIsReportedNotFatal(t *testing.T) {
	scheme, err := Scheme()
	if err != nil {
		t.Fatal(err)
	}
	cp := controlplane.StartForTest(t, controlplane.Options{
		Scheme: scheme, AllocateNodeCIDRs: ptr.To(false), Nodes: []controlplane.NodeSpec{{Name: "node-1"}},
	})
	health := freeAddr(t)
	mgr, err := ctrl.NewManager(cp.Config, ctrl.Options{
		Scheme: scheme, Metrics: metricsserver.Options{BindAddress: "0"}, HealthProbeBindAddress: health,
		Controller: config.Controller{SkipNameValidation: ptr.To(true)},
	})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	cfg := agent.Config{
		NodeName: "node-late", Masquerade: true, CNIBinDir: filepath.Join(dir, "bin"), CNIConfDir: filepath.Join(dir, "net.d"),
		DataDir: filepath.Join(dir, "data"), StateFile: filepath.Join(dir, "state.json"),
	}
	if err := setupNetwork(t.Context(), mgr, cfg, true); err != nil {
		t.Fatal(err)
	}
	ctx, stop := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- mgr.Start(ctx) }()
	t.Cleanup(func() {
		stop()
		if err := <-done; err != nil {
			t.Errorf("manager stopped with: %v", err)
		}
	})

	waitReadyz(t, health, `failed to find own node "node-late"`)
	waitForEvent(t, cp, "node-late", agent.ReasonNetworkFailed)
	if err := cp.Client.Create(t.Context(), &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "node-late"}}); err != nil {
		t.Fatal(err)
	}
	waitReadyz(t, health, "waiting for this node's pod CIDRs")
	select {
	case err := <-done:
		t.Fatalf("the manager stopped: %v", err)
	default:
	}
	assertSweeperSeesItsNodesPodsOnly(t, cp, mgr, cfg)
}

// assertSweeperSeesItsNodesPodsOnly checks the sweeper's pod cache against
// a real API server: the pods bound to its node, none of the others.
func assertSweeperSeesItsNodesPodsOnly(t *testing.T, cp *controlplane.ControlPlane, mgr ctrl.Manager, cfg agent.Config) {
	t.Helper()
	a, err := agent.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	s := a.NewSweeper()
	if err := s.SetupWithManager(mgr); err != nil {
		t.Fatal(err)
	}
	// The other node's pod first: a cache that held it would have it before
	// this node's, since a watch delivers events in order.
	for _, p := range []struct{ name, node string }{{"other", "node-1"}, {"mine", cfg.NodeName}} {
		pod := &corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{Namespace: metav1.NamespaceDefault, Name: p.name},
			Spec:       corev1.PodSpec{NodeName: p.node, Containers: []corev1.Container{{Name: "c", Image: "example.invalid/c"}}},
		}
		// The service account controller may not have created "default" yet.
		err := wait.PollUntilContextTimeout(t.Context(), 100*time.Millisecond, time.Minute, true, func(ctx context.Context) (bool, error) {
			return cp.Client.Create(ctx, pod) == nil, nil
		})
		if err != nil {
			t.Fatalf("failed to create pod %s: %v", p.name, err)
		}
	}
	var names []string
	err = wait.PollUntilContextTimeout(t.Context(), 100*time.Millisecond, time.Minute, true, func(ctx context.Context) (bool, error) {
		var pods corev1.PodList
		if err := s.Pods.List(ctx, &pods); err != nil {
			return false, err
		}
		names = names[:0]
		for _, p := range pods.Items {
			names = append(names, p.Name)
		}
		return slices.Contains(names, "mine"), nil
	})
	if err != nil || len(names) != 1 {
		t.Fatalf("the sweeper's cache holds %v, want only this node's pod: %v", names, err)
	}
}

// freeAddr returns a local address nothing listens on.
func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// waitReadyz polls the readiness check "network" until it fails with want.
func waitReadyz(t *testing.T, addr, want string) {
	t.Helper()
	var last string
	err := wait.PollUntilContextTimeout(t.Context(), 100*time.Millisecond, time.Minute, true, func(ctx context.Context) (bool, error) {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+addr+"/readyz/network", nil)
		if err != nil {
			return false, err
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			last = err.Error()
			return false, nil
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		last = fmt.Sprintf("%d %s", resp.StatusCode, body)
		return resp.StatusCode != http.StatusOK && strings.Contains(string(body), want), nil
	})
	if err != nil {
		t.Fatalf("readiness check network never reported %q; last: %s", want, last)
	}
}

// waitForEvent polls for an Event with reason about the Node.
func waitForEvent(t *testing.T, cp *controlplane.ControlPlane, node, reason string) {
	t.Helper()
	err := wait.PollUntilContextTimeout(t.Context(), 100*time.Millisecond, time.Minute, true, func(ctx context.Context) (bool, error) {
		var list eventsv1.EventList
		if err := cp.Client.List(ctx, &list); err != nil {
			return false, err
		}
		return slices.ContainsFunc(list.Items, func(e eventsv1.Event) bool {
			return e.Regarding.Kind == "Node" && e.Regarding.Name == node && e.Reason == reason
		}), nil
	})
	if err != nil {
		t.Fatalf("no %s Event on Node %s: %v", reason, node, err)
	}
}
