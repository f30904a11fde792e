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

package scale

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"

	snapshotv1 "github.com/kubernetes-csi/external-snapshotter/client/v8/apis/volumesnapshot/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/uuid"
	"k8s.io/component-helpers/storage/volume"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/plinth-dev/plinth/internal/wellknown"
)

// A population of N objects is, on the other nodes in round robin, 40%
// claims each bound to its PV (40%) as Plinth provisions them, and 20%
// snapshot contents as Plinth's snapshot controller makes them.
const (
	claimShare   = 0.4
	contentShare = 0.2
)

// population creates objects on the other nodes, numbered on from what
// exists, so that populations grow one into the next.
type population struct {
	cl        client.Client
	namespace string
	class     string
	snapClass string
	nodes     []string
	claims    int
	contents  int
}

// growTo creates claims, PVs and contents until the population has n
// objects, with workers creating in parallel, and returns the number of
// objects it created.
func (p *population) growTo(tb testing.TB, n, workers int) int {
	tb.Helper()
	claims, contents := int(float64(n)*claimShare), int(float64(n)*contentShare)
	var created atomic.Int64
	var wg sync.WaitGroup
	items := make(chan func(context.Context) (int, error))
	for range workers {
		wg.Go(func() {
			for item := range items {
				k, err := item(tb.Context())
				created.Add(int64(k))
				if err != nil {
					tb.Error(err)
				}
			}
		})
	}
	for i := p.claims; i < claims; i++ {
		items <- func(ctx context.Context) (int, error) { return p.boundClaim(ctx, p.namespace, i) }
	}
	for i := p.contents; i < contents; i++ {
		items <- func(ctx context.Context) (int, error) { return 1, p.cl.Create(ctx, p.content(p.namespace, i)) }
	}
	close(items)
	wg.Wait()
	p.claims, p.contents = max(p.claims, claims), max(p.contents, contents)
	return int(created.Load())
}

// node returns the node of the i-th object.
func (p *population) node(i int) string {
	return p.nodes[i%len(p.nodes)]
}

// boundClaim creates claim i of ns, selected for and provisioned on its
// node, and its PV bound to it, as Plinth's provisioner and
// kube-controller-manager leave them.
func (p *population) boundClaim(ctx context.Context, ns string, i int) (int, error) {
	name := fmt.Sprintf("data-%05d", i)
	pvName := ns + "-" + name
	pvc := &corev1.PersistentVolumeClaim{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, Annotations: map[string]string{
			volume.AnnSelectedNode: p.node(i), volume.AnnStorageProvisioner: wellknown.DriverName,
			volume.AnnBetaStorageProvisioner: wellknown.DriverName, volume.AnnBindCompleted: "yes",
		}},
		Spec: corev1.PersistentVolumeClaimSpec{
			AccessModes:      []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
			StorageClassName: ptr.To(p.class),
			VolumeName:       pvName,
			Resources:        corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("1Gi")}},
		},
	}
	if err := p.cl.Create(ctx, pvc); err != nil {
		return 0, fmt.Errorf("failed to create claim %s: %w", name, err)
	}
	pv := p.pv(pvc, pvName, p.node(i))
	if err := p.cl.Create(ctx, pv); err != nil {
		return 1, fmt.Errorf("failed to create PV %s: %w", pvName, err)
	}
	return 2, p.markBound(ctx, pvc, pv)
}

// markBound writes the Bound phases kube-controller-manager would write,
// as merge patches that cannot conflict with its own: in parallel they take
// far less time than its one binder does.
func (p *population) markBound(ctx context.Context, pvc *corev1.PersistentVolumeClaim, pv *corev1.PersistentVolume) error {
	pvBase := pv.DeepCopy()
	pv.Status.Phase = corev1.VolumeBound
	if err := p.cl.Status().Patch(ctx, pv, client.MergeFrom(pvBase)); err != nil {
		return fmt.Errorf("failed to mark PV %s bound: %w", pv.Name, err)
	}
	base := pvc.DeepCopy()
	pvc.Status = corev1.PersistentVolumeClaimStatus{
		Phase: corev1.ClaimBound, AccessModes: pvc.Spec.AccessModes, Capacity: pvc.Spec.Resources.Requests,
	}
	if err := p.cl.Status().Patch(ctx, pvc, client.MergeFrom(base)); err != nil {
		return fmt.Errorf("failed to mark claim %s bound: %w", pvc.Name, err)
	}
	return nil
}

// pv is the PV Plinth's provisioner makes for a claim on node.
func (p *population) pv(pvc *corev1.PersistentVolumeClaim, name, node string) *corev1.PersistentVolume {
	return &corev1.PersistentVolume{
		ObjectMeta: metav1.ObjectMeta{Name: name, Annotations: map[string]string{
			volume.AnnDynamicallyProvisioned: wellknown.DriverName, wellknown.AnnNode: node,
		}},
		Spec: corev1.PersistentVolumeSpec{
			Capacity:                      pvc.Spec.Resources.Requests,
			AccessModes:                   pvc.Spec.AccessModes,
			StorageClassName:              p.class,
			PersistentVolumeReclaimPolicy: corev1.PersistentVolumeReclaimDelete,
			ClaimRef: &corev1.ObjectReference{
				Kind: "PersistentVolumeClaim", APIVersion: "v1", Namespace: pvc.Namespace, Name: pvc.Name, UID: pvc.UID,
			},
			PersistentVolumeSource: corev1.PersistentVolumeSource{CSI: &corev1.CSIPersistentVolumeSource{
				Driver: wellknown.DriverName, VolumeHandle: "vol-" + name, FSType: "ext4",
			}},
			NodeAffinity: &corev1.VolumeNodeAffinity{Required: &corev1.NodeSelector{NodeSelectorTerms: []corev1.NodeSelectorTerm{{
				MatchExpressions: []corev1.NodeSelectorRequirement{{Key: wellknown.TopologyKeyNode, Operator: corev1.NodeSelectorOpIn, Values: []string{node}}},
			}}}},
		},
	}
}

// content is snapshot content i of ns: a dynamic content of a volume on its
// node, as Plinth's snapshot controller makes it (the snapshot it is for is
// left out: no controller waits for it).
func (p *population) content(ns string, i int) *snapshotv1.VolumeSnapshotContent {
	name := fmt.Sprintf("%s-snap-%05d", ns, i)
	return &snapshotv1.VolumeSnapshotContent{
		ObjectMeta: metav1.ObjectMeta{Name: name, Annotations: map[string]string{wellknown.AnnNode: p.node(i)}},
		Spec: snapshotv1.VolumeSnapshotContentSpec{
			Driver:                  wellknown.DriverName,
			DeletionPolicy:          snapshotv1.VolumeSnapshotContentRetain,
			VolumeSnapshotClassName: ptr.To(p.snapClass),
			Source:                  snapshotv1.VolumeSnapshotContentSource{VolumeHandle: ptr.To(fmt.Sprintf("vol-%s-data-%05d", ns, i))},
			VolumeSnapshotRef:       corev1.ObjectReference{Kind: "VolumeSnapshot", Namespace: ns, Name: fmt.Sprintf("snap-%05d", i), UID: uuid.NewUUID()},
		},
	}
}
