package expansion

import (
	"context"
	"fmt"
	"time"

	"github.com/container-storage-interface/spec/lib/go/csi"
	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/events"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/predicate"

	"github.com/plinth-dev/plinth/controllers/csiconn"
	"github.com/plinth-dev/plinth/controllers/opmetrics"
	"github.com/plinth-dev/plinth/controllers/provisioning"
)

// Event reasons, as upstream's external-resizer emits them.
const (
	ReasonResizing         = "Resizing"
	ReasonResizeSucceeded  = "VolumeResizeSuccessful"
	ReasonResizeFailed     = "VolumeResizeFailed"
	ReasonExpansionBlocked = "VolumeExpansionNotAllowed"
)

// Resizer expands the volumes of one node (every node in central mode).
type Resizer struct {
	Client     client.Client
	Controller csi.ControllerClient
	DriverName string
	NodeName   string
	Recorder   events.EventRecorder
	// Timeout bounds each CSI call; zero means 60s.
	Timeout time.Duration
}

// +kubebuilder:rbac:groups="",resources=persistentvolumeclaims,verbs=get;list;watch
// +kubebuilder:rbac:groups="",resources=persistentvolumeclaims/status,verbs=update;patch
// +kubebuilder:rbac:groups="",resources=persistentvolumes,verbs=get;list;watch;update;patch
// +kubebuilder:rbac:groups=storage.k8s.io,resources=storageclasses,verbs=get;list;watch

// Reconcile expands one claim's volume when its request grew.
func (r *Resizer) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	pvc := &corev1.PersistentVolumeClaim{}
	if err := r.Client.Get(ctx, req.NamespacedName, pvc); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	if pvc.Status.Phase != corev1.ClaimBound || pvc.Spec.VolumeName == "" {
		return ctrl.Result{}, nil
	}
	pv := &corev1.PersistentVolume{}
	if err := r.Client.Get(ctx, client.ObjectKey{Name: pvc.Spec.VolumeName}, pv); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	if !r.owns(pv) {
		return ctrl.Result{}, nil
	}
	want, have := pvc.Spec.Resources.Requests[corev1.ResourceStorage], pv.Spec.Capacity[corev1.ResourceStorage]
	allocated := pvc.Status.AllocatedResources[corev1.ResourceStorage]
	switch resizeStatus := pvc.Status.AllocatedResourceStatuses[corev1.ResourceStorage]; {
	case resizeStatus == corev1.PersistentVolumeClaimControllerResizeInProgress && !allocated.IsZero() && have.Cmp(allocated) >= 0:
		// The PV grew but the claim was never told (a crash between the
		// two writes): finish the controller side.
		return ctrl.Result{}, r.markControllerDone(ctx, pvc, have, !isBlock(pv))
	case want.Cmp(have) <= 0:
		return ctrl.Result{}, nil
	case resizeStatus == corev1.PersistentVolumeClaimControllerResizeInfeasible && allocated.Cmp(want) == 0:
		return ctrl.Result{}, nil // the driver refused this size for good: the user must change the request
	}
	if ok, err := r.expansionAllowed(ctx, pvc); !ok || err != nil {
		return ctrl.Result{}, err
	}
	return ctrl.Result{}, r.expand(ctx, pvc, pv, want)
}

// owns reports whether the PV is one of this node's volumes.
func (r *Resizer) owns(pv *corev1.PersistentVolume) bool {
	if pv.Spec.CSI == nil || pv.Spec.CSI.Driver != r.DriverName {
		return false
	}
	return r.NodeName == "" || pv.Annotations[provisioning.AnnVolumeNode] == r.NodeName
}

// expansionAllowed double-checks the class (the API server's admission
// plugin already refuses growth when it is not allowed).
func (r *Resizer) expansionAllowed(ctx context.Context, pvc *corev1.PersistentVolumeClaim) (bool, error) {
	class := &storagev1.StorageClass{}
	if err := r.Client.Get(ctx, client.ObjectKey{Name: ptr.Deref(pvc.Spec.StorageClassName, "")}, class); err != nil {
		return false, client.IgnoreNotFound(fmt.Errorf("failed to get StorageClass: %w", err))
	}
	if !ptr.Deref(class.AllowVolumeExpansion, false) {
		r.Recorder.Eventf(pvc, nil, corev1.EventTypeWarning, ReasonExpansionBlocked, "Resize",
			"StorageClass %s does not allow volume expansion", class.Name)
		return false, nil
	}
	return true, nil
}

// expand calls ControllerExpandVolume and records the outcome in the PV and
// the claim's status.
func (r *Resizer) expand(ctx context.Context, pvc *corev1.PersistentVolumeClaim, pv *corev1.PersistentVolume, want resource.Quantity) error {
	if err := r.markInProgress(ctx, pvc, want); err != nil {
		return err
	}
	callCtx, cancel := csiconn.CallContext(ctx, r.Timeout)
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

// markInProgress records, before the call, what is being allocated.
func (r *Resizer) markInProgress(ctx context.Context, pvc *corev1.PersistentVolumeClaim, want resource.Quantity) error {
	return r.patchStatus(ctx, pvc, func(st *corev1.PersistentVolumeClaimStatus) {
		st.AllocatedResources = corev1.ResourceList{corev1.ResourceStorage: want}
		setResizeStatus(st, corev1.PersistentVolumeClaimControllerResizeInProgress)
		setCondition(st, corev1.PersistentVolumeClaimResizing, "", "")
		removeCondition(st, corev1.PersistentVolumeClaimControllerResizeError)
	})
}

// markControllerDone records the controller side's success: the kubelet
// finishes a filesystem volume, a block volume is done.
func (r *Resizer) markControllerDone(ctx context.Context, pvc *corev1.PersistentVolumeClaim, got resource.Quantity, nodeRequired bool) error {
	return r.patchStatus(ctx, pvc, func(st *corev1.PersistentVolumeClaimStatus) {
		removeCondition(st, corev1.PersistentVolumeClaimResizing)
		if nodeRequired {
			setResizeStatus(st, corev1.PersistentVolumeClaimNodeResizePending)
			setCondition(st, corev1.PersistentVolumeClaimFileSystemResizePending, "",
				"Waiting for user to (re-)start a pod to finish file system resize of volume on node.")
			return
		}
		delete(st.AllocatedResourceStatuses, corev1.ResourceStorage)
		st.Capacity = corev1.ResourceList{corev1.ResourceStorage: got}
	})
}

// markFailed records a failed expansion: a final error makes the request
// infeasible (the user must change it), anything else is retried.
func (r *Resizer) markFailed(ctx context.Context, pvc *corev1.PersistentVolumeClaim, callErr error) error {
	r.Recorder.Eventf(pvc, nil, corev1.EventTypeWarning, ReasonResizeFailed, "Resize", "ControllerExpandVolume: %v", callErr)
	err := r.patchStatus(ctx, pvc, func(st *corev1.PersistentVolumeClaimStatus) {
		removeCondition(st, corev1.PersistentVolumeClaimResizing)
		setCondition(st, corev1.PersistentVolumeClaimControllerResizeError, "", callErr.Error())
		if csiconn.IsFinal(callErr) {
			setResizeStatus(st, corev1.PersistentVolumeClaimControllerResizeInfeasible)
		}
	})
	if err != nil {
		return err
	}
	if csiconn.IsFinal(callErr) {
		return nil // nothing to retry until the claim changes
	}
	return fmt.Errorf("failed to expand volume: %w", callErr)
}

func (r *Resizer) patchStatus(ctx context.Context, pvc *corev1.PersistentVolumeClaim, mutate func(*corev1.PersistentVolumeClaimStatus)) error {
	base := pvc.DeepCopy()
	mutate(&pvc.Status)
	if equality.Semantic.DeepEqual(base.Status, pvc.Status) {
		return nil
	}
	if err := r.Client.Status().Patch(ctx, pvc, client.MergeFrom(base)); err != nil {
		return fmt.Errorf("failed to update claim status: %w", err)
	}
	return nil
}

func setResizeStatus(st *corev1.PersistentVolumeClaimStatus, s corev1.ClaimResourceStatus) {
	if st.AllocatedResourceStatuses == nil {
		st.AllocatedResourceStatuses = map[corev1.ResourceName]corev1.ClaimResourceStatus{}
	}
	st.AllocatedResourceStatuses[corev1.ResourceStorage] = s
}

// setCondition sets a True condition, keeping its transition time when it
// was already True, so that an unchanged status writes nothing new.
func setCondition(st *corev1.PersistentVolumeClaimStatus, t corev1.PersistentVolumeClaimConditionType, reason, msg string) {
	since := metav1.Now()
	for _, c := range st.Conditions {
		if c.Type == t && c.Status == corev1.ConditionTrue {
			since = c.LastTransitionTime
		}
	}
	removeCondition(st, t)
	st.Conditions = append(st.Conditions, corev1.PersistentVolumeClaimCondition{
		Type: t, Status: corev1.ConditionTrue, Reason: reason, Message: msg, LastTransitionTime: since,
	})
}

func removeCondition(st *corev1.PersistentVolumeClaimStatus, t corev1.PersistentVolumeClaimConditionType) {
	kept := st.Conditions[:0]
	for _, c := range st.Conditions {
		if c.Type != t {
			kept = append(kept, c)
		}
	}
	st.Conditions = kept
}

// requestChanged lets through bound claims when they appear (also at start,
// which finishes an interrupted expansion) and when their request or volume
// changes, but not their own status updates: retries after an error come
// from the rate-limited queue, not from the status the error wrote.
func requestChanged() predicate.Funcs {
	bound := func(o client.Object) bool { return o.(*corev1.PersistentVolumeClaim).Spec.VolumeName != "" }
	return predicate.Funcs{
		CreateFunc:  func(e event.CreateEvent) bool { return bound(e.Object) },
		DeleteFunc:  func(event.DeleteEvent) bool { return false },
		GenericFunc: func(e event.GenericEvent) bool { return bound(e.Object) },
		UpdateFunc: func(e event.UpdateEvent) bool {
			oldPVC, newPVC := e.ObjectOld.(*corev1.PersistentVolumeClaim), e.ObjectNew.(*corev1.PersistentVolumeClaim)
			oldReq, newReq := oldPVC.Spec.Resources.Requests[corev1.ResourceStorage], newPVC.Spec.Resources.Requests[corev1.ResourceStorage]
			return bound(newPVC) && (oldReq.Cmp(newReq) != 0 || oldPVC.Spec.VolumeName != newPVC.Spec.VolumeName)
		},
	}
}

// SetupWithManager registers the resizer for bound claims.
func (r *Resizer) SetupWithManager(mgr ctrl.Manager, workers int) error {
	err := ctrl.NewControllerManagedBy(mgr).
		Named("resizer").
		For(&corev1.PersistentVolumeClaim{}, builder.WithPredicates(requestChanged())).
		WithOptions(controllerOptions(workers)).
		Complete(r)
	if err != nil {
		return fmt.Errorf("failed to set up the resizer: %w", err)
	}
	return nil
}
