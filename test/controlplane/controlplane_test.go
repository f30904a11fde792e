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

package controlplane_test

import (
	"context"
	"net"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/plinth-dev/plinth/test/controlplane"
	"github.com/plinth-dev/plinth/test/objects"
)

const waitTimeout = 90 * time.Second

// TestRealComponentsCooperate starts one control plane with three nodes in
// two zones and checks that kube-controller-manager and kube-scheduler do
// their part: pod CIDRs, node lifecycle, garbage collection, and
// topology-aware binding of a local PersistentVolume.
func TestRealComponentsCooperate(t *testing.T) {
	cp := controlplane.StartForTest(t, controlplane.Options{Nodes: []controlplane.NodeSpec{
		{Name: "node-1", Zone: "zone-a", Region: "region-1"},
		{Name: "node-2", Zone: "zone-a", Region: "region-1"},
		{Name: "node-3", Zone: "zone-b", Region: "region-1"},
	}})
	ctx := t.Context()
	if err := cp.WaitForNodesReady(ctx, waitTimeout); err != nil {
		t.Fatal(err)
	}
	t.Run("nodes get distinct pod CIDRs from the cluster CIDR", func(t *testing.T) {
		assertPodCIDRs(ctx, t, cp)
	})
	t.Run("nodes carry hostname and zone labels", func(t *testing.T) {
		node := &corev1.Node{}
		if err := cp.Client.Get(ctx, client.ObjectKey{Name: "node-3"}, node); err != nil {
			t.Fatal(err)
		}
		if got := node.Labels[corev1.LabelTopologyZone]; got != "zone-b" {
			t.Errorf("zone label = %q, want zone-b", got)
		}
		if got := node.Labels[corev1.LabelHostname]; got != "node-3" {
			t.Errorf("hostname label = %q, want node-3", got)
		}
	})
	t.Run("garbage collector deletes dependents of a deleted owner", func(t *testing.T) {
		assertGarbageCollection(ctx, t, cp)
	})
	t.Run("scheduler places a pod on its local PV's node and the claim binds", func(t *testing.T) {
		assertDelayedBinding(ctx, t, cp)
	})
}

func assertPodCIDRs(ctx context.Context, t *testing.T, cp *controlplane.ControlPlane) {
	_, cluster, err := net.ParseCIDR(controlplane.DefaultClusterCIDR)
	if err != nil {
		t.Fatal(err)
	}
	nodes := &corev1.NodeList{}
	if err := cp.Client.List(ctx, nodes); err != nil {
		t.Fatal(err)
	}
	seen := map[string]string{}
	for _, node := range nodes.Items {
		if len(node.Spec.PodCIDRs) != 1 {
			t.Fatalf("node %s has pod CIDRs %v, want one", node.Name, node.Spec.PodCIDRs)
		}
		ip, block, err := net.ParseCIDR(node.Spec.PodCIDRs[0])
		if err != nil {
			t.Fatalf("node %s: %v", node.Name, err)
		}
		if ones, _ := block.Mask.Size(); ones != controlplane.DefaultNodeCIDRMaskSize || !cluster.Contains(ip) {
			t.Errorf("node %s pod CIDR %s is not a /%d inside %s", node.Name, block, controlplane.DefaultNodeCIDRMaskSize, cluster)
		}
		if other, dup := seen[block.String()]; dup {
			t.Errorf("nodes %s and %s share pod CIDR %s", other, node.Name, block)
		}
		seen[block.String()] = node.Name
	}
}

func assertGarbageCollection(ctx context.Context, t *testing.T, cp *controlplane.ControlPlane) {
	owner := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "owner"}}
	if err := cp.Client.Create(ctx, owner); err != nil {
		t.Fatal(err)
	}
	dependent := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{
		Namespace: "default", Name: "dependent",
		OwnerReferences: []metav1.OwnerReference{{APIVersion: "v1", Kind: "ConfigMap", Name: owner.Name, UID: owner.UID}},
	}}
	if err := cp.Client.Create(ctx, dependent); err != nil {
		t.Fatal(err)
	}
	if err := cp.Client.Delete(ctx, owner); err != nil {
		t.Fatal(err)
	}
	pollUntil(ctx, t, "dependent ConfigMap deleted", func() (bool, error) {
		err := cp.Client.Get(ctx, client.ObjectKeyFromObject(dependent), &corev1.ConfigMap{})
		return apierrors.IsNotFound(err), client.IgnoreNotFound(err)
	})
}

// assertDelayedBinding creates two local PVs, of which only the one on
// node-2 is large enough, a WaitForFirstConsumer class, a claim and a pod:
// the scheduler must pick node-2 and the PV controller bind the claim.
func assertDelayedBinding(ctx context.Context, t *testing.T, cp *controlplane.ControlPlane) {
	const ns = "smoke"
	if err := cp.CreateNamespace(ctx, ns); err != nil {
		t.Fatal(err)
	}
	class := &storagev1.StorageClass{
		ObjectMeta:        metav1.ObjectMeta{Name: "local-wffc"},
		Provisioner:       "kubernetes.io/no-provisioner",
		VolumeBindingMode: ptr.To(storagev1.VolumeBindingWaitForFirstConsumer),
	}
	objects := []client.Object{
		class,
		localPV("small-on-node-1", "node-1", class.Name, "500Mi"),
		localPV("large-on-node-2", "node-2", class.Name, "2Gi"),
		objects.Claim(ns, "data", class.Name, "1Gi"),
		objects.PodWithClaim(ns, "app", "data"),
	}
	for _, obj := range objects {
		if err := cp.Client.Create(ctx, obj); err != nil {
			t.Fatalf("failed to create %T %s: %v", obj, obj.GetName(), err)
		}
	}
	pod := &corev1.Pod{}
	pollUntil(ctx, t, "pod scheduled", func() (bool, error) {
		err := cp.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: "app"}, pod)
		return err == nil && pod.Spec.NodeName != "", err
	})
	if pod.Spec.NodeName != "node-2" {
		t.Errorf("pod scheduled to %s, want node-2 (the only node with a PV large enough)", pod.Spec.NodeName)
	}
	pvc := &corev1.PersistentVolumeClaim{}
	pollUntil(ctx, t, "claim bound", func() (bool, error) {
		err := cp.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: "data"}, pvc)
		return err == nil && pvc.Status.Phase == corev1.ClaimBound, err
	})
	if pvc.Spec.VolumeName != "large-on-node-2" {
		t.Errorf("claim bound to %q, want large-on-node-2", pvc.Spec.VolumeName)
	}
}

func localPV(name, node, class, size string) *corev1.PersistentVolume {
	return &corev1.PersistentVolume{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: corev1.PersistentVolumeSpec{
			Capacity:                      corev1.ResourceList{corev1.ResourceStorage: resource.MustParse(size)},
			AccessModes:                   []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
			PersistentVolumeReclaimPolicy: corev1.PersistentVolumeReclaimRetain,
			StorageClassName:              class,
			PersistentVolumeSource: corev1.PersistentVolumeSource{
				Local: &corev1.LocalVolumeSource{Path: "/mnt/disks/" + name},
			},
			NodeAffinity: &corev1.VolumeNodeAffinity{Required: &corev1.NodeSelector{
				NodeSelectorTerms: []corev1.NodeSelectorTerm{{MatchExpressions: []corev1.NodeSelectorRequirement{{
					Key: corev1.LabelHostname, Operator: corev1.NodeSelectorOpIn, Values: []string{node},
				}}}},
			}},
		},
	}
}

// pollUntil polls cond until it returns true, failing t at the deadline.
func pollUntil(ctx context.Context, t *testing.T, what string, cond func() (bool, error)) {
	t.Helper()
	err := wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, waitTimeout, true, func(context.Context) (bool, error) {
		return cond()
	})
	if err != nil {
		t.Fatalf("waiting for %s: %v", what, err)
	}
}
