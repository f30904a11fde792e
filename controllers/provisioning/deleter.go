package provisioning

import (
	"context"
	"fmt"
	"time"

	"github.com/container-storage-interface/spec/lib/go/csi"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/tools/events"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"

	"github.com/plinth-dev/plinth/controllers/csiconn"
	"github.com/plinth-dev/plinth/controllers/opmetrics"
	"github.com/plinth-dev/plinth/internal/objpatch"
)

// Event reasons of the deleter.
const (
	ReasonVolumeDeleted      = "VolumeDeleted"
	ReasonVolumeFailedDelete = "VolumeFailedDelete"
)

// Deleter applies the reclaim policy to the PVs this driver provisioned on
// one node (every node in central mode): a Delete PV's volume is deleted
// once its claim is gone or the PV itself is being deleted, then the PV;
// a Retain PV only loses its finalizer when deleted.
type Deleter struct {
	Client     client.Client
	Controller csi.ControllerClient
	DriverName string
	NodeName   string
	Recorder   events.EventRecorder
	Timeout    time.Duration
}

// Reconcile applies the reclaim policy of one PV.
func (d *Deleter) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	pv := &corev1.PersistentVolume{}
	if err := d.Client.Get(ctx, req.NamespacedName, pv); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	if !d.owns(pv) || !controllerutil.ContainsFinalizer(pv, FinalizerPV) {
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

// owns reports whether this deleter is responsible for the PV.
func (d *Deleter) owns(pv *corev1.PersistentVolume) bool {
	if pv.Annotations[AnnProvisionedBy] != d.DriverName || pv.Spec.CSI == nil {
		return false
	}
	return d.NodeName == "" || pv.Annotations[AnnVolumeNode] == d.NodeName
}

func (d *Deleter) deleteVolume(ctx context.Context, pv *corev1.PersistentVolume) (err error) {
	done := opmetrics.Start(opmetrics.Delete)
	defer func() { done(err) }()
	callCtx, cancel := csiconn.CallContext(ctx, d.Timeout)
	defer cancel()
	if _, err := d.Controller.DeleteVolume(callCtx, &csi.DeleteVolumeRequest{VolumeId: pv.Spec.CSI.VolumeHandle}); err != nil {
		d.Recorder.Eventf(pv, nil, corev1.EventTypeWarning, ReasonVolumeFailedDelete, "Delete", "DeleteVolume %s: %v", pv.Spec.CSI.VolumeHandle, err)
		return fmt.Errorf("failed to delete volume %s: %w", pv.Spec.CSI.VolumeHandle, err)
	}
	d.Recorder.Eventf(pv, nil, corev1.EventTypeNormal, ReasonVolumeDeleted, "Delete", "Deleted volume %s", pv.Spec.CSI.VolumeHandle)
	return nil
}

func (d *Deleter) removeFinalizer(ctx context.Context, pv *corev1.PersistentVolume) error {
	patch, ok := objpatch.RemoveFinalizer(pv, FinalizerPV)
	if !ok {
		return nil
	}
	if err := d.Client.Patch(ctx, pv, patch); err != nil {
		return client.IgnoreNotFound(fmt.Errorf("failed to remove PV finalizer: %w", err))
	}
	return nil
}
