package snapshotcontent

import (
	"context"
	"fmt"
	"time"

	"github.com/container-storage-interface/spec/lib/go/csi"
	snapshotv1 "github.com/kubernetes-csi/external-snapshotter/client/v8/apis/volumesnapshot/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/events"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"
	"sigs.k8s.io/controller-runtime/pkg/predicate"

	"github.com/plinth-dev/plinth/controllers/csiconn"
	"github.com/plinth-dev/plinth/controllers/opmetrics"
	"github.com/plinth-dev/plinth/controllers/snapshot"
	"github.com/plinth-dev/plinth/controllers/storageclass"
)

// FinalizerCleanup keeps a content until this node has deleted (Delete
// policy) or let go of (Retain) its physical snapshot.
const FinalizerCleanup = snapshot.FinalizerNodeCleanup

// Event reasons.
const (
	ReasonSnapshotCut          = "SnapshotCreated"
	ReasonSnapshotFailed       = "SnapshotCreationFailed"
	ReasonSnapshotDeleted      = "SnapshotDeleted"
	ReasonSnapshotDeleteFailed = "SnapshotDeleteFailed"
)

// Controller cuts and deletes the physical snapshots of one node.
type Controller struct {
	Client     client.Client
	Controller csi.ControllerClient
	DriverName string
	NodeName   string
	Recorder   events.EventRecorder
	// Timeout bounds each CSI call; zero means 60s.
	Timeout time.Duration
}

// +kubebuilder:rbac:groups=snapshot.storage.k8s.io,resources=volumesnapshotcontents,verbs=get;list;watch;update;patch
// +kubebuilder:rbac:groups=snapshot.storage.k8s.io,resources=volumesnapshotcontents/status,verbs=update;patch
// +kubebuilder:rbac:groups=snapshot.storage.k8s.io,resources=volumesnapshotclasses,verbs=get;list;watch
// +kubebuilder:rbac:groups=events.k8s.io,resources=events,verbs=create;patch

// Reconcile cuts, records or deletes the snapshot of one content.
func (c *Controller) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
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
	case content.Status != nil && content.Status.SnapshotHandle != nil && content.Annotations[snapshot.AnnBeingCreated] == "":
		return ctrl.Result{}, nil // cut and recorded
	case content.Status != nil && content.Status.Error != nil && content.Annotations[snapshot.AnnBeingCreated] == "":
		return ctrl.Result{}, nil // failed for good
	}
	return ctrl.Result{}, c.cut(ctx, content)
}

// owns reports whether the content's snapshot is this node's to cut: a
// dynamic content of this driver whose source volume lives here.
func (c *Controller) owns(content *snapshotv1.VolumeSnapshotContent) bool {
	return content.Spec.Driver == c.DriverName &&
		content.Spec.Source.VolumeHandle != nil &&
		content.Annotations[snapshot.AnnNode] == c.NodeName
}

// cut records the intent, calls CreateSnapshot and records the outcome.
func (c *Controller) cut(ctx context.Context, content *snapshotv1.VolumeSnapshotContent) error {
	if err := c.recordIntent(ctx, content); err != nil {
		return err
	}
	req, err := c.createRequest(ctx, content)
	if err != nil {
		return err
	}
	callCtx, cancel := csiconn.CallContext(ctx, c.Timeout)
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
func (c *Controller) recordIntent(ctx context.Context, content *snapshotv1.VolumeSnapshotContent) error {
	if controllerutil.ContainsFinalizer(content, FinalizerCleanup) && content.Annotations[snapshot.AnnBeingCreated] != "" {
		return nil
	}
	base := content.DeepCopy()
	controllerutil.AddFinalizer(content, FinalizerCleanup)
	if content.Annotations == nil {
		content.Annotations = map[string]string{}
	}
	content.Annotations[snapshot.AnnBeingCreated] = "yes"
	if err := c.Client.Patch(ctx, content, client.MergeFromWithOptions(base, client.MergeFromWithOptimisticLock{})); err != nil {
		return fmt.Errorf("failed to record snapshot intent: %w", err)
	}
	return nil
}

// createRequest builds the CreateSnapshot request of a content: the same
// request every time, so a retry finds the same snapshot.
func (c *Controller) createRequest(ctx context.Context, content *snapshotv1.VolumeSnapshotContent) (*csi.CreateSnapshotRequest, error) {
	req := &csi.CreateSnapshotRequest{
		Name:           snapshot.PhysicalName(string(content.Spec.VolumeSnapshotRef.UID)),
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
func (c *Controller) recordOutcome(ctx context.Context, content *snapshotv1.VolumeSnapshotContent, snap *csi.Snapshot, callErr error) error {
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
	delete(content.Annotations, snapshot.AnnBeingCreated)
	if err := c.Client.Patch(ctx, content, client.MergeFrom(base)); err != nil {
		return fmt.Errorf("failed to clear the being-created annotation: %w", err)
	}
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
func (c *Controller) cleanUp(ctx context.Context, content *snapshotv1.VolumeSnapshotContent) error {
	if !controllerutil.ContainsFinalizer(content, FinalizerCleanup) {
		return nil
	}
	if content.Spec.DeletionPolicy == snapshotv1.VolumeSnapshotContentDelete {
		if err := c.deleteSnapshot(ctx, content); err != nil {
			return err
		}
	}
	base := content.DeepCopy()
	controllerutil.RemoveFinalizer(content, FinalizerCleanup)
	if err := c.Client.Patch(ctx, content, lockedMerge(base)); err != nil {
		return client.IgnoreNotFound(fmt.Errorf("failed to remove the cleanup finalizer: %w", err))
	}
	return nil
}

// deleteSnapshot deletes the content's physical snapshot. When the content
// does not record it (a crash before the status was written), the
// idempotent CreateSnapshot finds it; if its source is gone too, nothing
// can have been cut from it after all.
func (c *Controller) deleteSnapshot(ctx context.Context, content *snapshotv1.VolumeSnapshotContent) error {
	callCtx, cancel := csiconn.CallContext(ctx, c.Timeout)
	defer cancel()
	id := ptr.Deref(content.Spec.Source.SnapshotHandle, "") // pre-provisioned
	if content.Status != nil && content.Status.SnapshotHandle != nil {
		id = *content.Status.SnapshotHandle
	} else if content.Annotations[snapshot.AnnBeingCreated] != "" {
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

// SetupWithManager registers the controller for this node's contents.
func (c *Controller) SetupWithManager(mgr ctrl.Manager, workers int) error {
	err := ctrl.NewControllerManagedBy(mgr).
		Named("snapshotcontent").
		For(&snapshotv1.VolumeSnapshotContent{}, builder.WithPredicates(predicate.NewPredicateFuncs(func(o client.Object) bool {
			content := o.(*snapshotv1.VolumeSnapshotContent)
			return c.owns(content) || c.mayHold(content)
		}))).
		WithOptions(controller.Options{MaxConcurrentReconciles: max(workers, 1)}).
		Complete(c)
	if err != nil {
		return fmt.Errorf("failed to set up the snapshot content controller: %w", err)
	}
	return nil
}

// lockedMerge is the patch for finalizer changes: a merge patch replaces
// the whole finalizer list, so it must not apply over a newer list than the
// one it was computed from (another controller's finalizer would be lost).
func lockedMerge(base client.Object) client.Patch {
	return client.MergeFromWithOptions(base, client.MergeFromWithOptimisticLock{})
}
