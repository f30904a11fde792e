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

package snapshotcontent

import (
	"context"
	"fmt"
	"time"

	"github.com/container-storage-interface/spec/lib/go/csi"
	snapshotv1 "github.com/kubernetes-csi/external-snapshotter/client/v8/apis/volumesnapshot/v1"
	"github.com/kubernetes-csi/external-snapshotter/v8/pkg/utils"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
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
	"github.com/plinth-dev/plinth/internal/storageclass"
	"github.com/plinth-dev/plinth/internal/wellknown"
)

// Event reasons.
const (
	ReasonSnapshotCut          = "SnapshotCreated"
	ReasonSnapshotFailed       = "SnapshotCreationFailed"
	ReasonSnapshotDeleted      = "SnapshotDeleted"
	ReasonSnapshotDeleteFailed = "SnapshotDeleteFailed"
)

// Reconciler cuts and deletes the physical snapshots of this node.
type Reconciler struct {
	nodedeps.Deps
	// Workers is the number of contents handled in parallel; zero means
	// one.
	Workers int

	recorded recordedLog
}

// +kubebuilder:rbac:groups=snapshot.storage.k8s.io,resources=volumesnapshotcontents,verbs=get;list;watch;update;patch
// +kubebuilder:rbac:groups=snapshot.storage.k8s.io,resources=volumesnapshotcontents/status,verbs=update;patch
// +kubebuilder:rbac:groups=snapshot.storage.k8s.io,resources=volumesnapshotclasses,verbs=get;list;watch
// +kubebuilder:rbac:groups=events.k8s.io,resources=events,verbs=create;patch

// Reconcile cuts, records or deletes the snapshot of one content.
func (c *Reconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	content := &snapshotv1.VolumeSnapshotContent{}
	if err := c.Client.Get(ctx, req.NamespacedName, content); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	if content.Spec.Driver == c.DriverName && content.Spec.Source.SnapshotHandle != nil {
		return ctrl.Result{}, c.reconcileImported(ctx, content)
	}
	if !c.owns(content) {
		return ctrl.Result{}, nil
	}
	switch {
	case !content.DeletionTimestamp.IsZero():
		return ctrl.Result{}, c.cleanUp(ctx, content)
	case content.Status != nil && content.Status.SnapshotHandle != nil && content.Annotations[utils.AnnVolumeSnapshotBeingCreated] == "":
		c.recorded.forget(content.UID)
		return ctrl.Result{}, nil // cut and recorded
	case content.Status != nil && content.Status.Error != nil && content.Annotations[utils.AnnVolumeSnapshotBeingCreated] == "":
		c.recorded.forget(content.UID)
		return ctrl.Result{}, nil // failed for good
	case c.recorded.behind(content.UID, content.ResourceVersion, time.Now()):
		return ctrl.Result{}, nil // the event of the outcome's write comes next
	}
	return ctrl.Result{}, c.cut(ctx, content)
}

// SetupWithManager registers the reconciler for this node's contents and
// for the pre-provisioned ones that may be this node's.
func (c *Reconciler) SetupWithManager(mgr ctrl.Manager) error {
	err := ctrl.NewControllerManagedBy(mgr).
		Named("snapshotcontent").
		For(&snapshotv1.VolumeSnapshotContent{}, builder.WithPredicates(predicate.NewPredicateFuncs(func(o client.Object) bool {
			content := o.(*snapshotv1.VolumeSnapshotContent)
			return c.owns(content) || c.mayHold(content)
		}))).
		WithOptions(controller.Options{MaxConcurrentReconciles: max(c.Workers, 1)}).
		Complete(c)
	if err != nil {
		return fmt.Errorf("failed to set up the snapshot content controller: %w", err)
	}
	return nil
}

// owns reports whether the content's snapshot is this node's to cut: a
// dynamic content of this driver whose source volume lives here.
func (c *Reconciler) owns(content *snapshotv1.VolumeSnapshotContent) bool {
	return content.Spec.Driver == c.DriverName &&
		content.Spec.Source.VolumeHandle != nil &&
		content.Annotations[wellknown.AnnNode] == c.NodeName
}

// cut records the intent, calls CreateSnapshot and records the outcome.
func (c *Reconciler) cut(ctx context.Context, content *snapshotv1.VolumeSnapshotContent) error {
	if err := c.recordIntent(ctx, content); err != nil {
		return err
	}
	req, err := c.createRequest(ctx, content)
	if err != nil {
		return err
	}
	callCtx, cancel := csiconn.CallContext(ctx)
	defer cancel()
	done := opmetrics.Start(opmetrics.Snapshot)
	resp, err := c.Controller.CreateSnapshot(callCtx, req)
	done(err)
	if err != nil && !csiconn.IsFinal(err) {
		c.Recorder.Eventf(content, nil, corev1.EventTypeWarning, ReasonSnapshotFailed, "Create", "CreateSnapshot %s (will retry): %v", req.Name, err)
		return fmt.Errorf("failed to create snapshot %s: %w", req.Name, err)
	}
	return c.recordOutcome(ctx, content, resp.GetSnapshot(), err)
}

// recordIntent adds the cleanup finalizer and the being-created annotation
// in one write, before the physical snapshot may exist.
func (c *Reconciler) recordIntent(ctx context.Context, content *snapshotv1.VolumeSnapshotContent) error {
	if controllerutil.ContainsFinalizer(content, wellknown.FinalizerSnapshotCleanup) && content.Annotations[utils.AnnVolumeSnapshotBeingCreated] != "" {
		return nil
	}
	base := content.DeepCopy()
	controllerutil.AddFinalizer(content, wellknown.FinalizerSnapshotCleanup)
	if content.Annotations == nil {
		content.Annotations = map[string]string{}
	}
	content.Annotations[utils.AnnVolumeSnapshotBeingCreated] = "yes"
	if err := c.Client.Patch(ctx, content, objpatch.LockedMerge(base)); err != nil {
		return fmt.Errorf("failed to record snapshot intent: %w", err)
	}
	return nil
}

// createRequest builds the CreateSnapshot request of a content: the same
// request every time, so a retry finds the same snapshot.
func (c *Reconciler) createRequest(ctx context.Context, content *snapshotv1.VolumeSnapshotContent) (*csi.CreateSnapshotRequest, error) {
	req := &csi.CreateSnapshotRequest{
		Name:           wellknown.SnapshotName(string(content.Spec.VolumeSnapshotRef.UID)),
		SourceVolumeId: *content.Spec.Source.VolumeHandle,
	}
	className := ptr.Deref(content.Spec.VolumeSnapshotClassName, "")
	if className == "" {
		return req, nil
	}
	class := &snapshotv1.VolumeSnapshotClass{}
	if err := c.Client.Get(ctx, client.ObjectKey{Name: className}, class); err != nil {
		return nil, fmt.Errorf("failed to get snapshot class %s: %w", className, err)
	}
	req.Parameters = storageclass.DriverParameters(class.Parameters)
	return req, nil
}

// recordOutcome writes the snapshot (or the final error) into the content's
// status, then drops the being-created annotation.
func (c *Reconciler) recordOutcome(ctx context.Context, content *snapshotv1.VolumeSnapshotContent, snap *csi.Snapshot, callErr error) error {
	base := content.DeepCopy()
	if callErr != nil {
		content.Status = &snapshotv1.VolumeSnapshotContentStatus{ReadyToUse: ptr.To(false), Error: &snapshotv1.VolumeSnapshotError{
			Time: ptr.To(metav1.Now()), Message: ptr.To(fmt.Sprintf("CreateSnapshot failed: %v", callErr)),
		}}
	} else {
		content.Status = &snapshotv1.VolumeSnapshotContentStatus{
			SnapshotHandle: ptr.To(snap.GetSnapshotId()),
			CreationTime:   ptr.To(snap.GetCreationTime().AsTime().UnixNano()),
			RestoreSize:    ptr.To(snap.GetSizeBytes()),
			ReadyToUse:     ptr.To(snap.GetReadyToUse()),
		}
	}
	if err := c.Client.Status().Patch(ctx, content, client.MergeFrom(base)); err != nil {
		return fmt.Errorf("failed to record snapshot status: %w", err)
	}
	base = content.DeepCopy()
	delete(content.Annotations, utils.AnnVolumeSnapshotBeingCreated)
	if err := c.Client.Patch(ctx, content, client.MergeFrom(base)); err != nil {
		return fmt.Errorf("failed to clear the being-created annotation: %w", err)
	}
	c.recorded.record(content.UID, content.ResourceVersion, time.Now())
	if callErr != nil {
		c.Recorder.Eventf(content, nil, corev1.EventTypeWarning, ReasonSnapshotFailed, "Create", "CreateSnapshot failed: %v", callErr)
		return nil
	}
	opmetrics.Ready(opmetrics.VolumeSnapshot, content.CreationTimestamp.Time)
	c.Recorder.Eventf(content, nil, corev1.EventTypeNormal, ReasonSnapshotCut, "Create", "Snapshot %s cut on node %s", snap.GetSnapshotId(), c.NodeName)
	return nil
}

// cleanUp deletes the physical snapshot of a content under the Delete policy
// and lets the content go.
func (c *Reconciler) cleanUp(ctx context.Context, content *snapshotv1.VolumeSnapshotContent) error {
	if !controllerutil.ContainsFinalizer(content, wellknown.FinalizerSnapshotCleanup) {
		return nil
	}
	if content.Spec.DeletionPolicy == snapshotv1.VolumeSnapshotContentDelete {
		if err := c.deleteSnapshot(ctx, content); err != nil {
			return err
		}
	}
	base := content.DeepCopy()
	controllerutil.RemoveFinalizer(content, wellknown.FinalizerSnapshotCleanup)
	if err := c.Client.Patch(ctx, content, objpatch.LockedMerge(base)); err != nil {
		return client.IgnoreNotFound(fmt.Errorf("failed to remove the cleanup finalizer: %w", err))
	}
	return nil
}

// deleteSnapshot deletes the content's physical snapshot. When the content
// does not record it (a crash before the status was written), the
// idempotent CreateSnapshot finds it; if its source is gone too, nothing
// can have been cut from it after all.
func (c *Reconciler) deleteSnapshot(ctx context.Context, content *snapshotv1.VolumeSnapshotContent) error {
	callCtx, cancel := csiconn.CallContext(ctx)
	defer cancel()
	id := ptr.Deref(content.Spec.Source.SnapshotHandle, "") // pre-provisioned
	if content.Status != nil && content.Status.SnapshotHandle != nil {
		id = *content.Status.SnapshotHandle
	} else if content.Annotations[utils.AnnVolumeSnapshotBeingCreated] != "" {
		req, err := c.createRequest(ctx, content)
		if err != nil {
			return err
		}
		resp, err := c.Controller.CreateSnapshot(callCtx, req)
		if err != nil && !csiconn.IsFinal(err) {
			return fmt.Errorf("failed to find snapshot %s: %w", req.Name, err)
		}
		id = resp.GetSnapshot().GetSnapshotId()
	}
	if id == "" {
		return nil
	}
	done := opmetrics.Start(opmetrics.DeleteSnapshot)
	_, err := c.Controller.DeleteSnapshot(callCtx, &csi.DeleteSnapshotRequest{SnapshotId: id})
	done(err)
	if err != nil {
		c.Recorder.Eventf(content, nil, corev1.EventTypeWarning, ReasonSnapshotDeleteFailed, "Delete", "DeleteSnapshot %s: %v", id, err)
		return fmt.Errorf("failed to delete snapshot %s: %w", id, err)
	}
	c.Recorder.Eventf(content, nil, corev1.EventTypeNormal, ReasonSnapshotDeleted, "Delete", "Deleted snapshot %s", id)
	return nil
}
