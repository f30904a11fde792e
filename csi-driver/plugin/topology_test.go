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
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/plinth-dev/plinth/internal/wellknown"

	"github.com/go-logr/logr/testr"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes/fake"

	"github.com/plinth-dev/plinth/csi-driver/plugin"
	"github.com/plinth-dev/plinth/csi-driver/registration/registrationtest"
	"github.com/plinth-dev/plinth/csi-driver/topology"
)

// TestRunRegistersAgainWithTheKubeletWhenTheNodesZoneChanges plays the
// kubelet's plugin watcher: only a registration socket created anew makes
// it call GetInfo and NodeGetInfo again.
func TestRunRegistersAgainWithTheKubeletWhenTheNodesZoneChanges(t *testing.T) {
	dir, err := os.MkdirTemp("", "plinth")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	client := fake.NewClientset(&corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "node-a"}})
	cfg := plugin.Config{
		DriverName:  wellknown.DriverName,
		Version:     "test",
		NodeName:    "node-a",
		Endpoint:    "unix://" + filepath.Join(dir, "csi.sock"),
		RegistryDir: filepath.Join(dir, "registry"),
		PoolDir:     filepath.Join(dir, "pool"),
		Topology:    watchNode(t, client, "node-a"),
		Logger:      testr.New(t),
	}
	ctx, cancel := context.WithCancel(context.Background())
	kubelet, err := registrationtest.Start(ctx, cfg.RegistryDir, nil, testr.New(t).WithName("kubelet"))
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- plugin.Run(ctx, cfg) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
		kubelet.Wait()
	})
	if err := kubelet.WaitForRegistration(ctx, 0, 10*time.Second); err != nil {
		t.Fatal(err)
	}
	if zone := zoneOf(kubelet); zone != "" {
		t.Fatalf("zone %q reported before the Node had one", zone)
	}

	node := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "node-a", Labels: map[string]string{corev1.LabelTopologyZone: "zone-1"}}}
	if _, err := client.CoreV1().Nodes().Update(ctx, node, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := kubelet.WaitForRegistration(ctx, 1, 10*time.Second); err != nil {
		t.Fatalf("the driver did not register again after the zone was set: %v", err)
	}
	if zone := zoneOf(kubelet); zone != "zone-1" {
		t.Errorf("zone after registering again = %q, want zone-1", zone)
	}
}

// watchNode follows the topology of the named Node through an informer on
// client for the test's lifetime.
func watchNode(t *testing.T, client *fake.Clientset, name string) *topology.Node {
	t.Helper()
	factory := informers.NewSharedInformerFactory(client, 0)
	node := topology.NewNode(name, testr.New(t))
	if err := node.Watch(t.Context(), factory.Core().V1().Nodes().Informer()); err != nil {
		t.Fatal(err)
	}
	factory.Start(t.Context().Done())
	t.Cleanup(factory.Shutdown)
	return node
}

// zoneOf returns the zone the driver reported at its last registration.
func zoneOf(k *registrationtest.Kubelet) string {
	return k.NodeInfo().GetAccessibleTopology().GetSegments()[corev1.LabelTopologyZone]
}
