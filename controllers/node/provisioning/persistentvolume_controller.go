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
	"context"
	"fmt"

	"github.com/container-storage-interface/spec/lib/go/csi"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/component-helpers/storage/volume"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"
	"sigs.k8s.io/controller-runtime/pkg/predicate"

	"github.com/plinth-dev/plinth/controllers/node/nodedeps"
	"github.com/plinth-dev/plinth/internal/csiconn"
	"github.com/plinth-dev/plinth/internal/objpatch"
	"github.com/plinth-dev/plinth/internal/opmetrics"
	"github.com/plinth-dev/plinth/internal/wellknown"
)

// Event reasons of the deleter.
const (
	ReasonVolumeDeleted      = "VolumeDeleted"
	ReasonVolumeFailedDelete = "VolumeFailedDelete"
)

// Deleter applies the reclaim policy to the PVs this driver provisioned on
// this node: a Delete PV's volume is deleted
// once its claim is gone or the PV itself is being deleted, then the PV;
// a Retain PV only loses its finalizer when deleted.
type Deleter struct {
	nodedeps.Deps
	// Workers is the number of PVs handled in parallel; zero means one.
	Workers int
}

// Reconcile applies the reclaim policy of one PV.
func (d *Deleter) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	pv := &corev1.PersistentVolume{}
	if err := d.Client.Get(ctx, req.NamespacedName, pv); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	if !d.owns(pv) || !controllerutil.ContainsFinalizer(pv, volume.PVDeletionProtectionFinalizer) {
		return ctrl.Result{}, nil
	}
	deleting := !pv.DeletionTimestamp.IsZero()
	if pv.Spec.PersistentVolumeReclaimPolicy != corev1.PersistentVolumeReclaimDelete {
		if deleting {
			return ctrl.Result{}, d.removeFinalizer(ctx, pv)
		}
		return ctrl.Result{}, nil
	}
	// Only a released volume goes: a PV deleted while its claim still uses
	// it waits (kube-controller-manager's pv-protection and this finalizer
	// keep it) until the claim is gone.
	if pv.Status.Phase != corev1.VolumeReleased && pv.Status.Phase != corev1.VolumeFailed {
		return ctrl.Result{}, nil
	}
	if err := d.deleteVolume(ctx, pv); err != nil {
		return ctrl.Result{}, err
	}
	// Delete first, then drop the finalizer: a crash in between leaves a
	// deleting PV that the next reconcile finishes.
	if !deleting {
		if err := d.Client.Delete(ctx, pv); err != nil {
			return ctrl.Result{}, client.IgnoreNotFound(fmt.Errorf("failed to delete PV: %w", err))
		}
	}
	return ctrl.Result{}, d.removeFinalizer(ctx, pv)
}

// SetupWithManager registers the deleter for the PVs this node's
// provisioner made.
func (d *Deleter) SetupWithManager(mgr ctrl.Manager) error {
	err := ctrl.NewControllerManagedBy(mgr).
		Named("deleter").
		For(&corev1.PersistentVolume{}, builder.WithPredicates(predicate.NewPredicateFuncs(func(o client.Object) bool {
			return d.owns(o.(*corev1.PersistentVolume))
		}))).
		WithOptions(controller.Options{MaxConcurrentReconciles: max(d.Workers, 1)}).
		Complete(d)
	if err != nil {
		return fmt.Errorf("failed to set up the deleter: %w", err)
	}
	return nil
}

// owns reports whether this deleter is responsible for the PV.
func (d *Deleter) owns(pv *corev1.PersistentVolume) bool {
	if pv.Annotations[volume.AnnDynamicallyProvisioned] != d.DriverName || pv.Spec.CSI == nil {
		return false
	}
	return pv.Annotations[wellknown.AnnNode] == d.NodeName
}

func (d *Deleter) deleteVolume(ctx context.Context, pv *corev1.PersistentVolume) (err error) {
	done := opmetrics.Start(opmetrics.Delete)
	defer func() { done(err) }()
	callCtx, cancel := csiconn.CallContext(ctx)
	defer cancel()
	if _, err := d.Controller.DeleteVolume(callCtx, &csi.DeleteVolumeRequest{VolumeId: pv.Spec.CSI.VolumeHandle}); err != nil {
		d.Recorder.Eventf(pv, nil, corev1.EventTypeWarning, ReasonVolumeFailedDelete, "Delete", "DeleteVolume %s: %v", pv.Spec.CSI.VolumeHandle, err)
		return fmt.Errorf("failed to delete volume %s: %w", pv.Spec.CSI.VolumeHandle, err)
	}
	d.Recorder.Eventf(pv, nil, corev1.EventTypeNormal, ReasonVolumeDeleted, "Delete", "Deleted volume %s", pv.Spec.CSI.VolumeHandle)
	return nil
}

func (d *Deleter) removeFinalizer(ctx context.Context, pv *corev1.PersistentVolume) error {
	patch, ok := objpatch.RemoveFinalizer(pv, volume.PVDeletionProtectionFinalizer)
	if !ok {
		return nil
	}
	if err := d.Client.Patch(ctx, pv, patch); err != nil {
		return client.IgnoreNotFound(fmt.Errorf("failed to remove PV finalizer: %w", err))
	}
	return nil
}
