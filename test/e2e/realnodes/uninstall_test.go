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
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	storagev1alpha1 "github.com/plinth-dev/plinth/apis/storage/v1alpha1"
	"github.com/plinth-dev/plinth/test/devcluster"
	"github.com/plinth-dev/plinth/test/localcluster"
)

// TestUninstallLeavesTheNodesAsItFoundThem installs the chart into a
// cluster of its own, runs a workload with a volume and pod networking,
// deletes the workload, uninstalls, and checks that no node keeps a mount, a
// loop device, a pool file, a CNI file, a route, an nftables table or IPAM
// state of Plinth's, that no API object of Plinth's but the CRDs remains,
// and that pods created afterwards get no address from the uninstalled
// plugin.
func TestUninstallLeavesTheNodesAsItFoundThem(t *testing.T) {
	repo := prerequisites(t)
	e := &env{repo: repo, helm: filepath.Join(repo, "bin", "helm"), kubectl: filepath.Join(repo, "bin", "k8s", "kubectl")}
	c, err := localcluster.Start(t.Context(), localcluster.Options{
		BinDir: filepath.Join(repo, "bin"), Images: e.images(t),
		Nodes:   []localcluster.NodeSpec{{Name: "node-1", Pool: localcluster.PoolXFS, PoolSize: 1 << 30}, {Name: "node-2", Pool: localcluster.PoolDir}},
		KeepDir: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	stopWithLogs(t, c)
	before := nodeStates(t, c)
	u := &env{cluster: c, repo: e.repo, helm: e.helm, kubectl: e.kubectl}
	if u.client, err = client.New(c.Config, client.Options{Scheme: scheme()}); err != nil {
		t.Fatal(err)
	}
	if err := devcluster.InstallChart(t.Context(), c, u.helm, filepath.Join(u.repo, "charts", "plinth")); err != nil {
		t.Fatal(err)
	}
	ns := u.namespace(t, "work")
	u.create(t, claim(ns, "data", "plinth", "64Mi"), testPod(ns, "app", writeData, withClaim("data")))
	u.running(t, ns, "app")
	volumes := poolFiles(t, c)
	if len(volumes) == 0 {
		t.Fatal("no volume file found in the nodes' pools")
	}
	u.deleteAndWait(t, &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "app"}},
		&corev1.PersistentVolumeClaim{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "data"}})
	u.poll(t, "every PV deleted", func(ctx context.Context) (bool, error) {
		pvs := &corev1.PersistentVolumeList{}
		err := u.client.List(ctx, pvs)
		return err == nil && len(pvs.Items) == 0, err
	})

	out, err := devcluster.Helm(t.Context(), c, u.helm, "uninstall", devcluster.Release, "-n", releaseNS, "--wait", "--timeout", "5m")
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("helm uninstall: %s", strings.TrimSpace(out))
	u.poll(t, "the release's pods gone", func(ctx context.Context) (bool, error) {
		pods := &corev1.PodList{}
		err := u.client.List(ctx, pods, client.InNamespace(releaseNS))
		return err == nil && len(pods.Items) == 0, err
	})
	if attached := loopsBacking(t, volumes); len(attached) > 0 {
		t.Errorf("loop devices still back the deleted volumes: %v", attached)
	}
	if after := nodeStates(t, c); !equalStates(before, after) {
		t.Errorf("the nodes changed:\n%s", diffStates(before, after))
	}
	u.assertOnlyCRDsRemain(t)
	u.assertNewPodsGetNoPlinthAddress(t)
}

// images lists the image tarballs the shared cluster imported.
func (e *env) images(t *testing.T) []string {
	images, err := devcluster.Images(filepath.Join(e.repo, "bin"))
	if err != nil {
		t.Fatal(err)
	}
	return images
}

// nodeStates describes, per node, what Plinth could leave behind.
func nodeStates(t *testing.T, c *localcluster.Cluster) map[string]string {
	t.Helper()
	script := strings.Join([]string{
		"echo '# mounts'; awk '{print $5}' /proc/self/mountinfo | grep -E '/var/lib/(kubelet|plinth)' | sort",
		"echo '# pool'; find /var/lib/plinth 2>/dev/null | sort",
		// /var/lib/cni/results is the runtime's own cache of CNI results,
		// made at its first ADD of any network: not Plinth's.
		"echo '# cni'; ls /etc/cni/net.d /opt/cni/bin; ls /var/lib/cni 2>/dev/null | grep -v '^results$'",
		"echo '# dirs'; ls -d /run/plinth /var/lib/cni/plinth 2>/dev/null",
		// plugins/kubernetes.io is the kubelet's own, for every CSI driver.
		"echo '# kubelet plugins'; find /var/lib/kubelet/plugins /var/lib/kubelet/plugins_registry 2>/dev/null | grep -v /plugins/kubernetes.io | sort",
		"echo '# nft'; nft list tables 2>/dev/null | grep -v kube-proxy",
		"echo '# links'; ip -o link | awk -F': ' '{print $2}' | sed 's/@.*//' | sort",
		"echo '# routes'; ip route | sort",
	}, "; ")
	states := map[string]string{}
	for _, n := range c.Nodes {
		out, err := n.Run(t.Context(), "sh", "-c", script)
		if err != nil {
			t.Fatal(err)
		}
		states[n.Name()] = out
	}
	return states
}

func equalStates(a, b map[string]string) bool {
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return len(a) == len(b)
}

func diffStates(before, after map[string]string) string {
	var b strings.Builder
	for node, was := range before {
		if after[node] != was {
			b.WriteString(node + " before:\n" + was + "\n" + node + " after:\n" + after[node] + "\n")
		}
	}
	return b.String()
}

// fileID is a file's filesystem device (major:minor, as losetup prints
// it) and inode: loop devices are global to the machine, and only this
// identity tells this cluster's volumes from another's.
type fileID struct{ dev, ino, path string }

// poolFiles identifies the files in every node's pool.
func poolFiles(t *testing.T, c *localcluster.Cluster) []fileID {
	t.Helper()
	var ids []fileID
	for _, n := range c.Nodes {
		out, err := n.Run(t.Context(), "sh", "-c", "find /var/lib/plinth/pool -type f -exec stat -c '%Hd:%Ld %i' {} +")
		if err != nil {
			t.Fatal(err)
		}
		for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
			if f := strings.Fields(line); len(f) == 2 {
				ids = append(ids, fileID{dev: f[0], ino: f[1]})
			}
		}
	}
	return ids
}

// loopsBacking lists the loop devices backed by one of the files.
func loopsBacking(t *testing.T, files []fileID) []string {
	t.Helper()
	out, err := exec.Command("losetup", "-n", "-O", "NAME,BACK-MAJ:MIN,BACK-INO").Output()
	if err != nil {
		t.Fatal(err)
	}
	var found []string
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		f := strings.Fields(line)
		if len(f) == 3 && slices.ContainsFunc(files, func(id fileID) bool { return id.dev == f[1] && id.ino == f[2] }) {
			found = append(found, f[0])
		}
	}
	return found
}

// assertOnlyCRDsRemain: the release's objects are gone, Plinth's CRDs stay,
// and no object the nodes published survives.
func (e *env) assertOnlyCRDsRemain(t *testing.T) {
	for _, obj := range []client.Object{
		&appsv1.DaemonSet{ObjectMeta: metav1.ObjectMeta{Namespace: releaseNS, Name: "plinth-node"}},
		&appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Namespace: releaseNS, Name: "plinth-controller"}},
		&storagev1.CSIDriver{ObjectMeta: metav1.ObjectMeta{Name: "csi.plinth.dev"}},
		&storagev1.StorageClass{ObjectMeta: metav1.ObjectMeta{Name: "plinth"}},
	} {
		e.poll(t, "deletion of "+obj.GetName(), func(ctx context.Context) (bool, error) {
			err := e.client.Get(ctx, client.ObjectKeyFromObject(obj), obj)
			return client.IgnoreNotFound(err) == nil && err != nil, nil
		})
	}
	ctx := t.Context()
	pools := &storagev1alpha1.StoragePoolList{}
	caps := &storagev1.CSIStorageCapacityList{}
	nodes := &corev1.NodeList{}
	for _, list := range []client.ObjectList{pools, caps, nodes} {
		if err := e.client.List(ctx, list); err != nil {
			t.Fatal(err)
		}
	}
	if len(pools.Items)+len(caps.Items) > 0 {
		t.Errorf("%d StoragePools and %d CSIStorageCapacities remain", len(pools.Items), len(caps.Items))
	}
	for _, n := range nodes.Items {
		for k := range n.Labels {
			if strings.HasPrefix(k, "topology.csi.plinth.dev/") {
				t.Errorf("node %s keeps label %s", n.Name, k)
			}
		}
	}
	for _, name := range []string{"storagepools.storage.plinth.dev", "volumesnapshots.snapshot.storage.k8s.io"} {
		if err := e.client.Get(ctx, client.ObjectKey{Name: name}, &apiextensionsv1.CustomResourceDefinition{}); err != nil {
			t.Errorf("CRD %s not kept: %v", name, err)
		}
	}
}

// assertNewPodsGetNoPlinthAddress: with no pod network left, the node
// reports its network not ready and the kubelet refuses a new pod's sandbox
// rather than calling an uninstalled plugin.
func (e *env) assertNewPodsGetNoPlinthAddress(t *testing.T) {
	ns := e.namespace(t, "after")
	e.create(t, testPod(ns, "late", "", onNode("node-1")))
	e.poll(t, "node-1 NotReady for lack of a network", func(ctx context.Context) (bool, error) {
		n := &corev1.Node{}
		err := e.client.Get(ctx, client.ObjectKey{Name: "node-1"}, n)
		return err == nil && !localclusterReady(n), err
	})
	e.poll(t, "the kubelet refusing the pod for lack of a network", func(ctx context.Context) (bool, error) {
		events := &corev1.EventList{}
		if err := e.client.List(ctx, events, client.InNamespace(ns)); err != nil {
			return false, err
		}
		for _, ev := range events.Items {
			if ev.InvolvedObject.Name == "late" && ev.Reason == "NetworkNotReady" {
				return true, nil
			}
		}
		return false, nil
	})
	p := &corev1.Pod{}
	if err := e.client.Get(t.Context(), client.ObjectKey{Namespace: ns, Name: "late"}, p); err != nil {
		t.Fatal(err)
	}
	if p.Status.PodIP != "" {
		t.Errorf("pod got address %s after Plinth was uninstalled", p.Status.PodIP)
	}
}

func localclusterReady(n *corev1.Node) bool {
	for _, c := range n.Status.Conditions {
		if c.Type == corev1.NodeReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}
