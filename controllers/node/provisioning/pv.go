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

package provisioning

import (
	"sort"

	"github.com/container-storage-interface/spec/lib/go/csi"
	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/component-helpers/storage/volume"

	"github.com/plinth-dev/plinth/internal/storageclass"
	"github.com/plinth-dev/plinth/internal/wellknown"
)

// persistentVolume returns the PV that records a provisioned volume: named
// like the volume, pre-bound to its claim, confined to the volume's
// accessible topology, and finalized so that the reclaim policy is honoured
// even when the PV is deleted before its claim.
func (p *Provisioner) persistentVolume(pvc *corev1.PersistentVolumeClaim, class *storagev1.StorageClass, vol *csi.Volume) *corev1.PersistentVolume {
	reclaim := corev1.PersistentVolumeReclaimDelete
	if class.ReclaimPolicy != nil {
		reclaim = *class.ReclaimPolicy
	}
	pv := &corev1.PersistentVolume{
		ObjectMeta: metav1.ObjectMeta{
			Name:        wellknown.VolumeName(string(pvc.UID)),
			Annotations: map[string]string{volume.AnnDynamicallyProvisioned: p.DriverName, wellknown.AnnNode: p.NodeName},
			// The label lets each plinth-node watch its own PVs alone.
			Labels:     map[string]string{wellknown.LabelNode: wellknown.NodeLabel(p.NodeName)},
			Finalizers: []string{volume.PVDeletionProtectionFinalizer},
		},
		Spec: corev1.PersistentVolumeSpec{
			Capacity:                      corev1.ResourceList{corev1.ResourceStorage: *resource.NewQuantity(vol.GetCapacityBytes(), resource.BinarySI)},
			AccessModes:                   pvc.Spec.AccessModes,
			PersistentVolumeReclaimPolicy: reclaim,
			StorageClassName:              class.Name,
			MountOptions:                  class.MountOptions,
			VolumeMode:                    pvc.Spec.VolumeMode,
			ClaimRef: &corev1.ObjectReference{
				Kind: "PersistentVolumeClaim", APIVersion: "v1",
				Namespace: pvc.Namespace, Name: pvc.Name, UID: pvc.UID,
			},
			NodeAffinity: nodeAffinity(vol.GetAccessibleTopology()),
			PersistentVolumeSource: corev1.PersistentVolumeSource{CSI: &corev1.CSIPersistentVolumeSource{
				Driver:           p.DriverName,
				VolumeHandle:     vol.GetVolumeId(),
				VolumeAttributes: vol.GetVolumeContext(),
			}},
		},
	}
	if !isBlock(pvc) {
		pv.Spec.CSI.FSType = class.Parameters[storageclass.FSTypeParameter]
	}
	return pv
}

// nodeAffinity turns accessible topology segments into a node selector:
// one term per segment (terms are ORed), one In expression per key.
func nodeAffinity(segments []*csi.Topology) *corev1.VolumeNodeAffinity {
	if len(segments) == 0 {
		return nil
	}
	terms := make([]corev1.NodeSelectorTerm, 0, len(segments))
	for _, seg := range segments {
		keys := make([]string, 0, len(seg.GetSegments()))
		for k := range seg.GetSegments() {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		exprs := make([]corev1.NodeSelectorRequirement, 0, len(keys))
		for _, k := range keys {
			exprs = append(exprs, corev1.NodeSelectorRequirement{
				Key: k, Operator: corev1.NodeSelectorOpIn, Values: []string{seg.GetSegments()[k]},
			})
		}
		terms = append(terms, corev1.NodeSelectorTerm{MatchExpressions: exprs})
	}
	return &corev1.VolumeNodeAffinity{Required: &corev1.NodeSelector{NodeSelectorTerms: terms}}
}
