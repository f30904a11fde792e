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

package snapshot

import (
	"context"
	"fmt"
	"time"

	snapshotv1 "github.com/kubernetes-csi/external-snapshotter/client/v8/apis/volumesnapshot/v1"
	"github.com/kubernetes-csi/external-snapshotter/v8/pkg/utils"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/client-go/tools/events"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"

	"github.com/plinth-dev/plinth/internal/objpatch"
	"github.com/plinth-dev/plinth/internal/wellknown"
)

// ControllerName names the common snapshot controller in plinth-controller
// (--enable-snapshot-controller=false where the cluster runs upstream's).
const ControllerName = "snapshot-controller"

// Event reasons, as upstream's snapshot-controller emits them.
const (
	ReasonCreatingSnapshot     = "CreatingSnapshot"
	ReasonSnapshotReady        = "SnapshotReady"
	ReasonSnapshotPending      = "SnapshotPending"
	ReasonSnapshotFailed       = "SnapshotCreationFailed"
	ReasonSnapshotBindFailed   = "SnapshotContentMismatch"
	ReasonSnapshotDeletePended = "SnapshotDeletePending"
)

// Reconciler binds VolumeSnapshots to VolumeSnapshotContents.
type Reconciler struct {
	// Client reads and writes snapshots, contents and claims.
	Client client.Client
	// Recorder emits Events on snapshots.
	Recorder events.EventRecorder
}

// workers is the parallelism of the snapshot controller: each snapshot
// waits on a few API round trips, so a burst needs many.
const workers = 16

// +kubebuilder:rbac:groups=snapshot.storage.k8s.io,resources=volumesnapshots,verbs=get;list;watch;update;patch
// +kubebuilder:rbac:groups=snapshot.storage.k8s.io,resources=volumesnapshots/status,verbs=update;patch
// +kubebuilder:rbac:groups=snapshot.storage.k8s.io,resources=volumesnapshotcontents,verbs=get;list;watch;create;update;patch;delete
// +kubebuilder:rbac:groups=snapshot.storage.k8s.io,resources=volumesnapshotclasses,verbs=get;list;watch
// +kubebuilder:rbac:groups="",resources=persistentvolumeclaims,verbs=get;list;watch;update;patch
// +kubebuilder:rbac:groups="",resources=persistentvolumes,verbs=get;list;watch
// +kubebuilder:rbac:groups=events.k8s.io,resources=events,verbs=create;patch

// SetupWithManager registers the reconciler for snapshots, for changes of
// their contents, and for claims that become bound while a snapshot of
// them waits.
func (c *Reconciler) SetupWithManager(mgr ctrl.Manager) error {
	err := ctrl.NewControllerManagedBy(mgr).
		Named("volumesnapshot").
		For(&snapshotv1.VolumeSnapshot{}).
		Watches(&snapshotv1.VolumeSnapshotContent{}, contentToSnapshot()).
		Watches(&corev1.PersistentVolumeClaim{}, claimToWaitingSnapshots(c.Client), builder.WithPredicates(claimBecameBound())).
		WithOptions(controller.Options{MaxConcurrentReconciles: workers}).
		Complete(c)
	if err != nil {
		return fmt.Errorf("failed to set up the snapshot controller: %w", err)
	}
	return nil
}

// Reconcile binds one snapshot, or applies the deletion policy when it is
// being deleted.
func (c *Reconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	vs := &snapshotv1.VolumeSnapshot{}
	if err := c.Client.Get(ctx, req.NamespacedName, vs); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	if !vs.DeletionTimestamp.IsZero() {
		return c.finalize(ctx, vs)
	}
	content, err := c.bind(ctx, vs)
	if err != nil || content == nil {
		return ctrl.Result{}, err
	}
	if wait := statusWait(vs, content, time.Now()); wait > 0 {
		return ctrl.Result{RequeueAfter: wait}, nil
	}
	if err := c.updateStatus(ctx, vs, content); err != nil {
		return ctrl.Result{}, err
	}
	if IsReady(vs) || contentFailed(content) {
		return ctrl.Result{}, c.releaseClaim(ctx, vs)
	}
	return ctrl.Result{}, nil
}

// statusGrace is how long a new snapshot goes without a status while its
// node cuts it. A node-local snapshot is ready within milliseconds, and the
// content's status then brings the snapshot back, so one write records it
// bound and ready together instead of two (bound, then ready); a node that
// takes longer gets the snapshot's bound, not-ready status when the grace
// is over.
const statusGrace = 2 * time.Second

// statusWait returns how much longer the snapshot's first status write
// waits for its new content's status, zero when it is not to wait.
func statusWait(vs *snapshotv1.VolumeSnapshot, content *snapshotv1.VolumeSnapshotContent, now time.Time) time.Duration {
	if vs.Status != nil || content.Status != nil {
		return 0
	}
	return max(0, min(statusGrace, statusGrace-now.Sub(content.CreationTimestamp.Time)))
}

// bind returns the content the snapshot is bound to, creating it for a
// dynamic snapshot. A nil content with a nil error means the snapshot
// cannot be bound yet; the reason is in an Event and the status.
func (c *Reconciler) bind(ctx context.Context, vs *snapshotv1.VolumeSnapshot) (*snapshotv1.VolumeSnapshotContent, error) {
	if name := vs.Spec.Source.VolumeSnapshotContentName; name != nil {
		if err := c.addFinalizers(ctx, vs, ""); err != nil {
			return nil, err
		}
		return c.bindPreProvisioned(ctx, vs, *name)
	}
	content := &snapshotv1.VolumeSnapshotContent{}
	err := c.Client.Get(ctx, client.ObjectKey{Name: wellknown.SnapshotContentName(string(vs.UID))}, content)
	if err == nil {
		return content, c.addFinalizers(ctx, vs, "")
	}
	if !apierrors.IsNotFound(err) {
		return nil, fmt.Errorf("failed to get content: %w", err)
	}
	return c.createContent(ctx, vs)
}

// bindPreProvisioned checks that a pre-provisioned content names this
// snapshot and records the snapshot's UID in it.
func (c *Reconciler) bindPreProvisioned(ctx context.Context, vs *snapshotv1.VolumeSnapshot, name string) (*snapshotv1.VolumeSnapshotContent, error) {
	content := &snapshotv1.VolumeSnapshotContent{}
	if err := c.Client.Get(ctx, client.ObjectKey{Name: name}, content); err != nil {
		if apierrors.IsNotFound(err) {
			return nil, c.fail(ctx, vs, ReasonSnapshotPending, fmt.Sprintf("VolumeSnapshotContent %s not found", name))
		}
		return nil, fmt.Errorf("failed to get content %s: %w", name, err)
	}
	ref := content.Spec.VolumeSnapshotRef
	if ref.Name != vs.Name || ref.Namespace != vs.Namespace || (ref.UID != "" && ref.UID != vs.UID) {
		msg := fmt.Sprintf("VolumeSnapshotContent %s is bound to %s/%s, not to this snapshot", name, ref.Namespace, ref.Name)
		return nil, c.fail(ctx, vs, ReasonSnapshotBindFailed, msg)
	}
	if ref.UID == vs.UID && controllerutil.ContainsFinalizer(content, utils.VolumeSnapshotContentFinalizer) {
		return content, nil
	}
	base := content.DeepCopy()
	content.Spec.VolumeSnapshotRef.UID = vs.UID
	controllerutil.AddFinalizer(content, utils.VolumeSnapshotContentFinalizer)
	if err := c.Client.Patch(ctx, content, objpatch.LockedMerge(base)); err != nil {
		return nil, fmt.Errorf("failed to bind content %s: %w", name, err)
	}
	return content, nil
}

// addFinalizers adds the snapshot's finalizers and, when defaultClass is
// set, records that class in its spec (as upstream does for a snapshot that
// names none), in one write.
func (c *Reconciler) addFinalizers(ctx context.Context, vs *snapshotv1.VolumeSnapshot, defaultClass string) error {
	if controllerutil.ContainsFinalizer(vs, utils.VolumeSnapshotBoundFinalizer) && controllerutil.ContainsFinalizer(vs, utils.VolumeSnapshotAsSourceFinalizer) && defaultClass == "" {
		return nil
	}
	base := vs.DeepCopy()
	controllerutil.AddFinalizer(vs, utils.VolumeSnapshotBoundFinalizer)
	controllerutil.AddFinalizer(vs, utils.VolumeSnapshotAsSourceFinalizer)
	if defaultClass != "" {
		vs.Spec.VolumeSnapshotClassName = &defaultClass
	}
	if err := c.Client.Patch(ctx, vs, objpatch.LockedMerge(base)); err != nil {
		return fmt.Errorf("failed to add snapshot finalizers: %w", err)
	}
	return nil
}

// fail records why a snapshot cannot progress in its status and an Event.
func (c *Reconciler) fail(ctx context.Context, vs *snapshotv1.VolumeSnapshot, reason, msg string) error {
	c.Recorder.Eventf(vs, nil, corev1.EventTypeWarning, reason, "Bind", msg)
	base := vs.DeepCopy()
	if vs.Status == nil {
		vs.Status = &snapshotv1.VolumeSnapshotStatus{}
	}
	if vs.Status.Error != nil && vs.Status.Error.Message != nil && *vs.Status.Error.Message == msg {
		return nil
	}
	vs.Status.Error = newError(msg)
	if err := c.Client.Status().Patch(ctx, vs, client.MergeFrom(base)); err != nil {
		return fmt.Errorf("failed to record snapshot error: %w", err)
	}
	return nil
}
