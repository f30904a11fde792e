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
	"fmt"
	"slices"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/plinth-dev/plinth/test/localcluster"
)

// TestRestartsLoseNoDataAndNoConnectivity restarts plinth-node, the
// kubelet and containerd on the node of a pod with a volume: after each, the
// pod reads its data, reaches a pod on the other node, and a new claim still
// provisions; the volume keeps exactly one loop device throughout (a
// restarted plinth-node, in a new mount namespace, finds it by identity), and
// deleting the claim at the end detaches it and frees its file.
func TestRestartsLoseNoDataAndNoConnectivity(t *testing.T) {
	e := cluster(t)
	ns := e.namespace(t, "restarts")
	e.create(t, claim(ns, "data", "plinth", "128Mi"),
		testPod(ns, "app", writeData, withClaim("data"), nodeSelector("node-1")),
		echoPod(ns, "peer", "node-2"))
	e.running(t, ns, "app")
	peer := e.running(t, ns, "peer")
	sum := e.exec(t, ns, "app", "cat /data/sum")
	n := e.cluster.Node("node-1")
	volume := e.volumeFile(t, ns, "data", n)

	restarts := []struct {
		name    string
		restart func(*testing.T)
	}{
		{"plinth-node", func(t *testing.T) { e.restartPlinthNode(t, n.Name()) }},
		{"kubelet", func(t *testing.T) { must(t, n.RestartKubelet(t.Context())) }},
		{"containerd", func(t *testing.T) { must(t, n.RestartContainerd(t.Context())) }},
	}
	for i, r := range restarts {
		t.Run(r.name, func(t *testing.T) {
			r.restart(t)
			// A restarted kubelet takes a moment to find its running pods
			// again before it serves exec for them.
			var got string
			e.poll(t, "app to answer after the restart", func(ctx context.Context) (bool, error) {
				out, err := e.sh(ctx, ns, "app", "sha256sum /data/blob | cut -d' ' -f1")
				got = out
				return err == nil, err
			})
			if got != sum {
				t.Errorf("after restarting %s the pod reads checksum %s, want %s", r.name, got, sum)
			}
			e.expectReply(t, ns, "app", peer)
			if devices := loopsBacking(t, []fileID{volume}); len(devices) != 1 {
				t.Errorf("after restarting %s the volume is backed by loop devices %v, want one", r.name, devices)
			}
			fresh := fmt.Sprintf("fresh-%d", i)
			e.create(t, claim(ns, fresh, "plinth", "32Mi"), testPod(ns, fresh, "", withClaim(fresh), nodeSelector("node-1")))
			e.running(t, ns, fresh)
		})
	}

	e.deleteAndWait(t, &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "app"}},
		&corev1.PersistentVolumeClaim{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "data"}})
	e.poll(t, "the volume detached and its file deleted", func(ctx context.Context) (bool, error) {
		_, err := n.Run(ctx, "test", "-e", volume.path)
		return err != nil && len(loopsBacking(t, []fileID{volume})) == 0, nil
	})
}

// nodeSelector keeps the pod on a node while leaving the scheduler (and so
// delayed volume binding) in charge.
func nodeSelector(node string) podOption {
	return func(p *corev1.Pod) { p.Spec.NodeSelector = map[string]string{"kubernetes.io/hostname": node} }
}

// volumeFile identifies the file of the claim's volume in the node's pool.
func (e *env) volumeFile(t *testing.T, ns, claimName string, n *localcluster.Node) fileID {
	t.Helper()
	pv := e.bound(t, ns, claimName)
	path := "/var/lib/plinth/pool/volumes/" + pv.Spec.CSI.VolumeHandle + ".img"
	out, err := n.Run(t.Context(), "stat", "-c", "%Hd:%Ld %i", path)
	if err != nil {
		t.Fatal(err)
	}
	var id fileID
	if _, err := fmt.Sscan(out, &id.dev, &id.ino); err != nil {
		t.Fatalf("failed to parse %q: %v", out, err)
	}
	id.path = path
	return id
}

// restartPlinthNode deletes the node's plinth-node pod and waits until its
// replacement is ready.
func (e *env) restartPlinthNode(t *testing.T, node string) {
	t.Helper()
	pods := &corev1.PodList{}
	if err := e.client.List(t.Context(), pods, client.InNamespace(releaseNS), client.MatchingLabels{"app.kubernetes.io/component": "node"}); err != nil {
		t.Fatal(err)
	}
	var old *corev1.Pod
	for i := range pods.Items {
		if pods.Items[i].Spec.NodeName == node {
			old = &pods.Items[i]
		}
	}
	if old == nil {
		t.Fatalf("no plinth-node pod on %s", node)
	}
	e.deleteAndWait(t, old)
	e.poll(t, "a new plinth-node ready on "+node, func(ctx context.Context) (bool, error) {
		pods := &corev1.PodList{}
		err := e.client.List(ctx, pods, client.InNamespace(releaseNS), client.MatchingLabels{"app.kubernetes.io/component": "node"})
		return err == nil && slices.ContainsFunc(pods.Items, func(p corev1.Pod) bool {
			return p.Spec.NodeName == node && p.UID != old.UID && ready(&p)
		}), err
	})
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
