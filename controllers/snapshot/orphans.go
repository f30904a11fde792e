package snapshot

import (
	"context"
	"fmt"

	snapshotv1 "github.com/kubernetes-csi/external-snapshotter/client/v8/apis/volumesnapshot/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"
)

// OrphanContents releases contents whose bound snapshot no longer exists
// (deleted without this controller's finalizer, or replaced by a snapshot
// of the same name): under the Delete policy they are deleted, so nothing
// outlives its API object.
type OrphanContents struct {
	Client client.Client
}

// Reconcile checks one content's snapshot.
func (o *OrphanContents) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	content := &snapshotv1.VolumeSnapshotContent{}
	if err := o.Client.Get(ctx, req.NamespacedName, content); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	ref := content.Spec.VolumeSnapshotRef
	if !controllerutil.ContainsFinalizer(content, FinalizerContentBound) || ref.UID == "" {
		return ctrl.Result{}, nil
	}
	vs := &snapshotv1.VolumeSnapshot{}
	err := o.Client.Get(ctx, client.ObjectKey{Namespace: ref.Namespace, Name: ref.Name}, vs)
	if err != nil && !apierrors.IsNotFound(err) {
		return ctrl.Result{}, fmt.Errorf("failed to get snapshot %s/%s: %w", ref.Namespace, ref.Name, err)
	}
	if err == nil && vs.UID == ref.UID {
		return ctrl.Result{}, nil
	}
	return ctrl.Result{}, releaseContent(ctx, o.Client, content)
}
