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

package agent

import (
	"encoding/json"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/event"

	"github.com/plinth-dev/plinth/cni-plugin/config"
)

func TestNewRejectsInvalidConfig(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
	}{
		{"missing node name", Config{}},
		{"unknown mode", Config{NodeName: "n", Mode: "bgp"}},
		{"bad cluster CIDR", Config{NodeName: "n", ClusterCIDRs: []string{"10.0.0.0/99"}}},
		{"unknown checksum offload", Config{NodeName: "n", VXLANChecksumOffload: "maybe"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := New(tt.cfg); err == nil {
				t.Error("New accepted an invalid config")
			}
		})
	}
}

// The Helm chart's defaults: masquerade on, no cluster CIDRs anywhere. The
// agent derives them from the Nodes instead of refusing to start (issue #10).
func TestNewAcceptsMasqueradeWithoutClusterCIDRs(t *testing.T) {
	a, err := New(Config{NodeName: "n1", Masquerade: true})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	nodes := []corev1.Node{testNode("n1", "10.244.1.0/24", "fd00:1::/64"), testNode("n2", "10.244.2.0/24")}
	cidrs, source := a.ClusterCIDRs(nodes)
	if source != CIDRSourceNodes || fmt.Sprint(cidrs) != "[10.244.1.0/24 10.244.2.0/24 fd00:1::/64]" {
		t.Errorf("ClusterCIDRs = %v from %s, want the Nodes' pod CIDRs", cidrs, source)
	}
}

func TestClusterCIDRs(t *testing.T) {
	nodes := []corev1.Node{testNode("n1", "10.244.1.0/24"), testNode("n2", "10.244.0.0/16"), testNode("n3", "10.244.1.0/24", "fd00::/64")}
	tests := []struct {
		name       string
		cfg        Config
		want       string
		wantSource CIDRSource
	}{
		{"flag", Config{ClusterCIDRs: []string{"10.0.0.0/8"}}, "[10.0.0.0/8]", CIDRSourceFlag},
		{"resolved elsewhere", Config{ClusterCIDRs: []string{"10.0.0.0/8"}, ClusterCIDRSource: CIDRSourceKubeadm}, "[10.0.0.0/8]", CIDRSourceKubeadm},
		// n2's block holds n1's and n3's repeats it: both are refused (see
		// TestViewRefusesRoguePeers), n3's IPv6 block is accepted.
		{"nodes, overlapping blocks refused", Config{}, "[10.244.1.0/24 fd00::/64]", CIDRSourceNodes},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.cfg.NodeName = "n1"
			a, err := New(tt.cfg)
			if err != nil {
				t.Fatal(err)
			}
			if cidrs, source := a.ClusterCIDRs(nodes); fmt.Sprint(cidrs) != tt.want || source != tt.wantSource {
				t.Errorf("ClusterCIDRs = %v from %s, want %s from %s", cidrs, source, tt.want, tt.wantSource)
			}
		})
	}
}

func TestOutermostLeavesNoOverlap(t *testing.T) {
	in := []netip.Prefix{
		netip.MustParsePrefix("10.1.0.0/24"), netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("10.0.0.0/8"),
		netip.MustParsePrefix("11.0.0.0/24"), netip.MustParsePrefix("11.0.1.0/24"), netip.MustParsePrefix("fd00::/48"),
		netip.MustParsePrefix("fd00:0:0:1::/64"), netip.MustParsePrefix("9.0.0.0/8"),
	}
	if got := fmt.Sprint(outermost(in)); got != "[9.0.0.0/8 10.0.0.0/8 11.0.0.0/24 11.0.1.0/24 fd00::/48]" {
		t.Errorf("outermost = %s", got)
	}
}

func TestConflistIsAcceptedByThePlugin(t *testing.T) {
	tests := []struct {
		name    string
		mode    Mode
		podMTU  int
		wantMTU int
	}{
		{"host-gw uses the underlay MTU", ModeHostGW, 0, 9000},
		{"vxlan leaves room for encapsulation", ModeVXLAN, 0, 8950},
		{"auto leaves room for encapsulation", ModeAuto, 0, 8950},
		{"explicit pod MTU wins", ModeAuto, 1400, 1400},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, err := New(Config{NodeName: "n1", Mode: tt.mode, UnderlayMTU: 9000, PodMTU: tt.podMTU})
			if err != nil {
				t.Fatal(err)
			}
			if v := a.viewOf([]corev1.Node{testNode("n1", "10.244.1.0/24", "fd00:1::/64")}); !v.found || len(v.peers) != 0 {
				t.Fatalf("viewOf = %+v", v)
			}
			self := toInfo(ptr(testNode("n1", "10.244.1.0/24", "fd00:1::/64")))
			data, err := a.renderConflist(self)
			if err != nil {
				t.Fatal(err)
			}
			conf := pluginConfOf(t, data)
			if conf.MTU != tt.wantMTU || len(conf.ParsedRanges) != 2 {
				t.Errorf("plugin config %+v, want MTU %d and two ranges", conf, tt.wantMTU)
			}
		})
	}
}

func pluginConfOf(t *testing.T, conflist []byte) *config.NetConf {
	t.Helper()
	var list struct {
		CNIVersion string            `json:"cniVersion"`
		Name       string            `json:"name"`
		Plugins    []json.RawMessage `json:"plugins"`
	}
	if err := json.Unmarshal(conflist, &list); err != nil || list.CNIVersion != "1.1.0" || len(list.Plugins) != 1 {
		t.Fatalf("conflist %s: %v", conflist, err)
	}
	var entry map[string]any
	if err := json.Unmarshal(list.Plugins[0], &entry); err != nil {
		t.Fatal(err)
	}
	entry["cniVersion"], entry["name"] = list.CNIVersion, list.Name
	data, _ := json.Marshal(entry)
	conf, err := config.Parse(data)
	if err != nil {
		t.Fatalf("plugin rejects the rendered entry: %v", err)
	}
	return conf
}

func TestViewSkipsPeersThatCannotBeRouted(t *testing.T) {
	noCIDR := testNode("n3")
	deleting := testNode("n4", "10.244.4.0/24")
	now := metav1.Now()
	deleting.DeletionTimestamp = &now
	legacy := testNode("n5")
	legacy.Spec.PodCIDR = "10.244.5.0/24"
	a, err := New(Config{NodeName: "n1"})
	if err != nil {
		t.Fatal(err)
	}
	v := a.viewOf([]corev1.Node{testNode("n2", "10.244.2.0/24"), testNode("n1", "10.244.1.0/24"), noCIDR, deleting, legacy})
	if !v.found || v.self.name != "n1" || len(v.peers) != 2 || v.peers[0].name != "n2" || v.peers[1].name != "n5" || len(v.refusals) != 0 {
		t.Errorf("view %+v; want self n1, peers n2 and n5 (legacy spec.podCIDR), no refusals", v)
	}
	if a.viewOf(nil).found {
		t.Error("viewOf without own node found it")
	}
}

func TestWriteFileAtomicReplacesAndKeepsIdenticalContent(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sub", "f")
	if err := writeFileAtomic(path, []byte("one"), 0o644); err != nil {
		t.Fatal(err)
	}
	before, _ := os.Stat(path)
	if err := writeFileAtomic(path, []byte("one"), 0o644); err != nil {
		t.Fatal(err)
	}
	after, _ := os.Stat(path)
	if !os.SameFile(before, after) {
		t.Error("identical content was rewritten")
	}
	if err := writeFileAtomic(path, []byte("two"), 0o755); err != nil {
		t.Fatal(err)
	}
	data, _ := os.ReadFile(path)
	info, _ := os.Stat(path)
	if string(data) != "two" || info.Mode().Perm() != 0o755 {
		t.Errorf("content %q mode %v", data, info.Mode())
	}
	entries, _ := os.ReadDir(filepath.Dir(path))
	if len(entries) != 1 {
		t.Errorf("temporary files left: %v", entries)
	}
}

func TestSyncWaitsForPodCIDRs(t *testing.T) {
	dir := t.TempDir()
	a, err := New(Config{NodeName: "n1", CNIConfDir: dir, StateFile: filepath.Join(dir, "state")})
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Sync(t.Context(), []corev1.Node{testNode("n1")}); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(a.ConflistPath()); !os.IsNotExist(err) {
		t.Error("conflist written before the node has pod CIDRs")
	}
}

func testNode(name string, cidrs ...string) corev1.Node {
	return corev1.Node{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec:       corev1.NodeSpec{PodCIDRs: cidrs},
		Status:     corev1.NodeStatus{Addresses: []corev1.NodeAddress{{Type: corev1.NodeInternalIP, Address: testAddress(name)}}},
	}
}

// testAddress gives every test node name its own InternalIP.
func testAddress(name string) string {
	sum := 0
	for _, c := range name {
		sum = sum*31 + int(c)
	}
	return fmt.Sprintf("192.0.2.%d", 1+sum%250)
}

func ptr[T any](v T) *T { return &v }

func TestRoutingChangedIgnoresHeartbeats(t *testing.T) {
	base := testNode("n1", "10.244.1.0/24")
	heartbeat := base.DeepCopy()
	heartbeat.Status.Conditions = []corev1.NodeCondition{{Type: corev1.NodeReady, Status: corev1.ConditionTrue, LastHeartbeatTime: metav1.Now()}}
	heartbeat.ResourceVersion = "2"
	newCIDR := base.DeepCopy()
	newCIDR.Spec.PodCIDRs = []string{"10.244.9.0/24"}
	newIP := base.DeepCopy()
	newIP.Status.Addresses[0].Address = "192.0.2.9"
	deleting := base.DeepCopy()
	now := metav1.Now()
	deleting.DeletionTimestamp = &now
	tests := []struct {
		name    string
		updated *corev1.Node
		want    bool
	}{
		{"status heartbeat", heartbeat, false},
		{"pod CIDR change", newCIDR, true},
		{"InternalIP change", newIP, true},
		{"deletion started", deleting, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := routingChanged().Update(event.UpdateEvent{ObjectOld: &base, ObjectNew: tt.updated}); got != tt.want {
				t.Errorf("routingChanged = %v, want %v", got, tt.want)
			}
		})
	}
}
