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
	"fmt"

	"github.com/container-storage-interface/spec/lib/go/csi"
	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"

	"github.com/plinth-dev/plinth/internal/storageclass"
	"github.com/plinth-dev/plinth/internal/wellknown"
)

// accessModes maps Kubernetes access modes to CSI ones. Modes that span
// nodes map to their CSI equivalents, which a node-local driver rejects
// with a clear error.
var accessModes = map[corev1.PersistentVolumeAccessMode]csi.VolumeCapability_AccessMode_Mode{
	corev1.ReadWriteOnce:    csi.VolumeCapability_AccessMode_SINGLE_NODE_WRITER,
	corev1.ReadWriteOncePod: csi.VolumeCapability_AccessMode_SINGLE_NODE_SINGLE_WRITER,
	corev1.ReadOnlyMany:     csi.VolumeCapability_AccessMode_MULTI_NODE_READER_ONLY,
	corev1.ReadWriteMany:    csi.VolumeCapability_AccessMode_MULTI_NODE_MULTI_WRITER,
}

// createRequest builds the CreateVolume request for a claim. It is a pure
// function of the claim, its class, the node topology and the data source,
// so a retry after a crash sends the very same request and the driver's
// idempotency returns the very same volume. A restore or clone is at least
// as large as its source, even when the claim asks for less (the source
// may have been rounded up to the driver's minimum size).
func createRequest(pvc *corev1.PersistentVolumeClaim, class *storagev1.StorageClass, topology map[string]string, source *resolvedSource) (*csi.CreateVolumeRequest, error) {
	caps, err := capabilities(pvc, class)
	if err != nil {
		return nil, err
	}
	req := &csi.CreateVolumeRequest{
		Name:               wellknown.VolumeName(string(pvc.UID)),
		CapacityRange:      capacityRange(pvc),
		VolumeCapabilities: caps,
		Parameters:         driverParameters(pvc, class),
	}
	if source != nil {
		req.VolumeContentSource = source.content
		req.CapacityRange.RequiredBytes = max(req.CapacityRange.RequiredBytes, source.size)
	}
	if len(topology) > 0 {
		t := &csi.Topology{Segments: topology}
		req.AccessibilityRequirements = &csi.TopologyRequirement{Requisite: []*csi.Topology{t}, Preferred: []*csi.Topology{t}}
	}
	return req, nil
}

func capacityRange(pvc *corev1.PersistentVolumeClaim) *csi.CapacityRange {
	r := &csi.CapacityRange{}
	if q, ok := pvc.Spec.Resources.Requests[corev1.ResourceStorage]; ok {
		r.RequiredBytes = q.Value()
	}
	if q, ok := pvc.Spec.Resources.Limits[corev1.ResourceStorage]; ok {
		r.LimitBytes = q.Value()
	}
	return r
}

func capabilities(pvc *corev1.PersistentVolumeClaim, class *storagev1.StorageClass) ([]*csi.VolumeCapability, error) {
	if len(pvc.Spec.AccessModes) == 0 {
		return nil, fmt.Errorf("claim has no access modes")
	}
	caps := make([]*csi.VolumeCapability, 0, len(pvc.Spec.AccessModes))
	for _, m := range pvc.Spec.AccessModes {
		mode, ok := accessModes[m]
		if !ok {
			return nil, fmt.Errorf("access mode %q is not supported", m)
		}
		c := &csi.VolumeCapability{AccessMode: &csi.VolumeCapability_AccessMode{Mode: mode}}
		if isBlock(pvc) {
			c.AccessType = &csi.VolumeCapability_Block{Block: &csi.VolumeCapability_BlockVolume{}}
		} else {
			c.AccessType = &csi.VolumeCapability_Mount{Mount: &csi.VolumeCapability_MountVolume{
				FsType:     class.Parameters[storageclass.FSTypeParameter],
				MountFlags: class.MountOptions,
			}}
		}
		caps = append(caps, c)
	}
	return caps, nil
}

// driverParameters returns the class parameters meant for the driver (none
// of the reserved csi.storage.k8s.io/ keys) plus the claim's identity, as
// external-provisioner's --extra-create-metadata does.
func driverParameters(pvc *corev1.PersistentVolumeClaim, class *storagev1.StorageClass) map[string]string {
	params := storageclass.DriverParameters(class.Parameters)
	params[paramPVCName] = pvc.Name
	params[paramPVCNS] = pvc.Namespace
	params[paramPVName] = wellknown.VolumeName(string(pvc.UID))
	return params
}

func isBlock(pvc *corev1.PersistentVolumeClaim) bool {
	return pvc.Spec.VolumeMode != nil && *pvc.Spec.VolumeMode == corev1.PersistentVolumeBlock
}
