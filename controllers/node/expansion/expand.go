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

package expansion

import (
	"context"
	"fmt"

	"github.com/container-storage-interface/spec/lib/go/csi"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/plinth-dev/plinth/internal/csiconn"
	"github.com/plinth-dev/plinth/internal/opmetrics"
)

// expand calls ControllerExpandVolume and records the outcome in the PV and
// the claim's status.
func (r *Resizer) expand(ctx context.Context, pvc *corev1.PersistentVolumeClaim, pv *corev1.PersistentVolume, want resource.Quantity) error {
	if err := r.markInProgress(ctx, pvc, want); err != nil {
		return err
	}
	callCtx, cancel := csiconn.CallContext(ctx)
	defer cancel()
	done := opmetrics.Start(opmetrics.Expand)
	resp, err := r.Controller.ControllerExpandVolume(callCtx, &csi.ControllerExpandVolumeRequest{
		VolumeId:         pv.Spec.CSI.VolumeHandle,
		CapacityRange:    &csi.CapacityRange{RequiredBytes: want.Value()},
		VolumeCapability: volumeCapability(pv),
	})
	done(err)
	if err != nil {
		return r.markFailed(ctx, pvc, err)
	}
	got := *resource.NewQuantity(resp.GetCapacityBytes(), resource.BinarySI)
	if err := r.recordCapacity(ctx, pv, got); err != nil {
		return err
	}
	r.Recorder.Eventf(pvc, pv, corev1.EventTypeNormal, ReasonResizeSucceeded, "Resize",
		"Volume %s grew to %s", pv.Spec.CSI.VolumeHandle, got.String())
	return r.markControllerDone(ctx, pvc, got, resp.GetNodeExpansionRequired())
}

func isBlock(pv *corev1.PersistentVolume) bool {
	return ptr.Deref(pv.Spec.VolumeMode, corev1.PersistentVolumeFilesystem) == corev1.PersistentVolumeBlock
}

func volumeCapability(pv *corev1.PersistentVolume) *csi.VolumeCapability {
	c := &csi.VolumeCapability{AccessMode: &csi.VolumeCapability_AccessMode{Mode: csi.VolumeCapability_AccessMode_SINGLE_NODE_WRITER}}
	if isBlock(pv) {
		c.AccessType = &csi.VolumeCapability_Block{Block: &csi.VolumeCapability_BlockVolume{}}
	} else {
		c.AccessType = &csi.VolumeCapability_Mount{Mount: &csi.VolumeCapability_MountVolume{FsType: pv.Spec.CSI.FSType}}
	}
	return c
}

func (r *Resizer) recordCapacity(ctx context.Context, pv *corev1.PersistentVolume, got resource.Quantity) error {
	base := pv.DeepCopy()
	pv.Spec.Capacity[corev1.ResourceStorage] = got
	if err := r.Client.Patch(ctx, pv, client.MergeFrom(base)); err != nil {
		return fmt.Errorf("failed to record the new capacity in PV %s: %w", pv.Name, err)
	}
	return nil
}
