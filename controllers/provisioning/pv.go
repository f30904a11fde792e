package provisioning

import (
	"sort"

	"github.com/container-storage-interface/spec/lib/go/csi"
	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/plinth-dev/plinth/controllers/storageclass"
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
			Name:        VolumeName(string(pvc.UID)),
			Annotations: map[string]string{AnnProvisionedBy: p.DriverName},
			Finalizers:  []string{FinalizerPV},
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
	if p.NodeName != "" {
		pv.Annotations[AnnVolumeNode] = p.NodeName
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
