package storagepool

import (
	"context"
	"fmt"

	snapshotv1 "github.com/kubernetes-csi/external-snapshotter/client/v8/apis/volumesnapshot/v1"
	corev1 "k8s.io/api/core/v1"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	storagev1alpha1 "github.com/plinth-dev/plinth/apis/storage/v1alpha1"
)

// SetupWithManager registers the reconciler. The node's StoragePool is
// refreshed when it is deleted or its spec edited, when the Node appears
// (which also starts the first refresh), and on every change of a PV of the
// driver and, with watchSnapshots, of a snapshot content of the driver.
func (r *Reconciler) SetupWithManager(mgr ctrl.Manager, watchSnapshots bool) error {
	thisNode := predicate.NewPredicateFuncs(func(o client.Object) bool { return o.GetName() == r.NodeName })
	b := ctrl.NewControllerManagedBy(mgr).
		Named("storagepool").
		For(&storagev1alpha1.StoragePool{}, builder.WithPredicates(thisNode, predicate.GenerationChangedPredicate{})).
		Watches(&corev1.Node{}, handler.EnqueueRequestsFromMapFunc(r.pool), builder.WithPredicates(thisNode, created())).
		Watches(&corev1.PersistentVolume{}, handler.EnqueueRequestsFromMapFunc(r.pool), builder.WithPredicates(
			predicate.NewPredicateFuncs(func(o client.Object) bool {
				pv := o.(*corev1.PersistentVolume)
				return pv.Spec.CSI != nil && pv.Spec.CSI.Driver == r.DriverName
			})))
	if watchSnapshots {
		b = b.Watches(&snapshotv1.VolumeSnapshotContent{}, handler.EnqueueRequestsFromMapFunc(r.pool), builder.WithPredicates(
			predicate.NewPredicateFuncs(func(o client.Object) bool {
				return o.(*snapshotv1.VolumeSnapshotContent).Spec.Driver == r.DriverName
			})))
	}
	if err := b.Complete(r); err != nil {
		return fmt.Errorf("failed to set up the storage pool reconciler: %w", err)
	}
	return nil
}

// pool enqueues the node's StoragePool.
func (r *Reconciler) pool(context.Context, client.Object) []reconcile.Request {
	return []reconcile.Request{{NamespacedName: client.ObjectKey{Name: r.NodeName}}}
}

// created passes only creation events: the Node's status changes often and
// says nothing about the pool.
func created() predicate.Funcs {
	return predicate.Funcs{
		CreateFunc:  func(event.CreateEvent) bool { return true },
		UpdateFunc:  func(event.UpdateEvent) bool { return false },
		DeleteFunc:  func(event.DeleteEvent) bool { return false },
		GenericFunc: func(event.GenericEvent) bool { return false },
	}
}
