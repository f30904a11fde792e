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
	"time"

	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	"k8s.io/client-go/util/workqueue"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	"github.com/plinth-dev/plinth/controllers/node/nodedeps"
	"github.com/plinth-dev/plinth/internal/wellknown"
)

// Event reasons, as upstream's external-resizer emits them.
const (
	ReasonResizing         = "Resizing"
	ReasonResizeSucceeded  = "VolumeResizeSuccessful"
	ReasonResizeFailed     = "VolumeResizeFailed"
	ReasonExpansionBlocked = "VolumeExpansionNotAllowed"
)

// Resizer expands the volumes of this node.
type Resizer struct {
	nodedeps.Deps
	// Workers is the number of claims handled in parallel; zero means one.
	Workers int
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
	return pv.Annotations[wellknown.AnnNode] == r.NodeName
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

// SetupWithManager registers the resizer for bound claims.
func (r *Resizer) SetupWithManager(mgr ctrl.Manager) error {
	err := ctrl.NewControllerManagedBy(mgr).
		Named("resizer").
		For(&corev1.PersistentVolumeClaim{}, builder.WithPredicates(requestChanged())).
		WithOptions(controller.Options{MaxConcurrentReconciles: max(r.Workers, 1), RateLimiter: retryLimiter()}).
		Complete(r)
	if err != nil {
		return fmt.Errorf("failed to set up the resizer: %w", err)
	}
	return nil
}

// Retries of a failed expansion start after retryStart and double up to
// retryMax, as the upstream external-resizer's --retry-interval-start and
// --retry-interval-max default to: a claim waiting for room in a full pool
// is tried again within five minutes of the room freeing.
const (
	retryStart = time.Second
	retryMax   = 5 * time.Minute
)

func retryLimiter() workqueue.TypedRateLimiter[reconcile.Request] {
	return workqueue.NewTypedItemExponentialFailureRateLimiter[reconcile.Request](retryStart, retryMax)
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
