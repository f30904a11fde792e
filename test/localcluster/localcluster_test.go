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

package localcluster_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/plinth-dev/plinth/test/controlplane"
	"github.com/plinth-dev/plinth/test/localcluster"
	"github.com/plinth-dev/plinth/test/prereq"
)

// TestNodesRegisterAndStopLeavesNothing starts two real nodes, checks that
// they registered with their identities, zones and pod CIDRs, each in its
// own namespaces, and that Stop removes every namespace, cgroup, mount and
// process the cluster made.
func TestNodesRegisterAndStopLeavesNothing(t *testing.T) {
	prereq.Root(t)
	prereq.Commands(t, "runc", "nsenter", "unshare", "ip", "mkfs.xfs")
	repo, err := controlplane.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(repo, "bin")
	for _, p := range []string{"k8s/kubelet", "k8s/kube-proxy", "node/containerd", "pause"} {
		_, err := os.Stat(filepath.Join(bin, p))
		prereq.Require(t, err == nil, "%s (make k8s-bins node-tools test-e2e-deps)", p)
	}
	before := snapshotMachine(t)
	c, err := localcluster.Start(t.Context(), localcluster.Options{BinDir: bin, Nodes: []localcluster.NodeSpec{
		{Name: "node-1", Zone: "zone-a", Pool: localcluster.PoolXFS, PoolSize: 512 << 20},
		{Name: "node-2", Zone: "zone-b", Pool: localcluster.PoolDir},
	}})
	if err != nil {
		t.Fatal(err)
	}
	stopped := false
	t.Cleanup(func() {
		if !stopped {
			_ = c.Stop()
		}
	})
	for _, n := range c.Nodes {
		node, err := c.Clientset.CoreV1().Nodes().Get(t.Context(), n.Name(), metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if got := node.Labels["topology.kubernetes.io/zone"]; got != n.Spec.Zone {
			t.Errorf("%s: zone label %q, want %q", n.Name(), got, n.Spec.Zone)
		}
		if !slices.ContainsFunc(node.Status.Addresses, func(a corev1.NodeAddress) bool { return a.Address == n.IP.String() }) {
			t.Errorf("%s: addresses %v lack %s", n.Name(), node.Status.Addresses, n.IP)
		}
		out, err := n.Run(t.Context(), "sh", "-c", "hostname; readlink /proc/1/ns/net; findmnt -n -o PROPAGATION /var/lib/kubelet")
		if err != nil {
			t.Fatal(err)
		}
		if lines := strings.Fields(out); len(lines) != 3 || lines[0] != n.Name() || lines[2] != "shared" {
			t.Errorf("%s: hostname, netns and kubelet-dir propagation = %q", n.Name(), out)
		}
	}
	if err := c.Stop(); err != nil {
		t.Errorf("Stop: %v", err)
	}
	stopped = true
	// Only what appeared counts: other tests may come and go meanwhile.
	var left []string
	for _, item := range snapshotMachine(t) {
		if !slices.Contains(before, item) {
			left = append(left, item)
		}
	}
	if len(left) > 0 {
		t.Errorf("the cluster left behind: %v", left)
	}
}

// snapshotMachine lists what a cluster could leave on the machine: network
// namespaces, mounts, bound loop devices, top-level cgroups, the host
// directories nodes mount over, and processes of the cluster's binaries.
func snapshotMachine(t *testing.T) []string {
	t.Helper()
	var out []string
	add := func(prefix string, items ...string) {
		for _, i := range items {
			out = append(out, prefix+i)
		}
	}
	netns, _ := filepath.Glob("/run/netns/*")
	add("netns ", netns...)
	mounts, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(strings.TrimSpace(string(mounts)), "\n") {
		if f := strings.Fields(line); len(f) > 4 {
			add("mount ", f[4])
		}
	}
	loops, _ := exec.Command("losetup", "-n", "-O", "NAME,BACK-FILE").Output()
	add("loop ", strings.Fields(string(loops))...)
	cgroups, _ := filepath.Glob("/sys/fs/cgroup/pids/*")
	for _, c := range cgroups {
		if fi, err := os.Stat(c); err == nil && fi.IsDir() {
			add("cgroup ", c)
		}
	}
	for _, d := range []string{"/var/lib/kubelet", "/opt/cni", "/etc/cni", "/var/lib/containerd", "/run/containerd"} {
		if _, err := os.Stat(d); err == nil {
			add("dir ", d)
		}
	}
	procs, _ := exec.Command("pgrep", "-x", "kubelet|containerd|kube-proxy|etcd|kube-apiserver|containerd-shim").Output()
	add("process ", strings.Fields(string(procs))...)
	slices.Sort(out)
	return out
}
