package provisioning

import (
	"context"
	"fmt"

	snapshotv1 "github.com/kubernetes-csi/external-snapshotter/client/v8/apis/volumesnapshot/v1"
	corev1 "k8s.io/api/core/v1"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
)

// indexDataSource indexes claims by "<Kind>/<name>" of their data source.
const indexDataSource = "plinth.dataSource"

// SetupOptions tune the provisioning controllers.
type SetupOptions struct {
	// Workers is the number of claims provisioned in parallel.
	Workers int
	// WatchSnapshots watches VolumeSnapshots to restore from them as soon as
	// they are ready; it needs the snapshot.storage.k8s.io CRDs.
	WatchSnapshots bool
}

// SetupWithManager registers the provisioner and the deleter.
func SetupWithManager(ctx context.Context, mgr ctrl.Manager, p *Provisioner, opts SetupOptions) error {
	if err := mgr.GetFieldIndexer().IndexField(ctx, &corev1.PersistentVolumeClaim{}, indexDataSource, dataSourceKey); err != nil {
		return fmt.Errorf("failed to index claims by data source: %w", err)
	}
	b := ctrl.NewControllerManagedBy(mgr).
		Named("provisioner").
		For(&corev1.PersistentVolumeClaim{}, builder.WithPredicates(predicate.NewPredicateFuncs(p.mayHandle))).
		Watches(&corev1.PersistentVolumeClaim{}, handler.EnqueueRequestsFromMapFunc(p.claimsUsing("PersistentVolumeClaim"))).
		WithOptions(controller.Options{MaxConcurrentReconciles: max(opts.Workers, 1)})
	if opts.WatchSnapshots {
		b = b.Watches(&snapshotv1.VolumeSnapshot{}, handler.EnqueueRequestsFromMapFunc(p.claimsUsing("VolumeSnapshot")))
	}
	if err := b.Complete(p); err != nil {
		return fmt.Errorf("failed to set up the provisioner: %w", err)
	}
	d := &Deleter{Client: p.Client, Controller: p.Controller, DriverName: p.DriverName, NodeName: p.NodeName, Recorder: p.Recorder, Timeout: p.Timeout}
	err := ctrl.NewControllerManagedBy(mgr).
		Named("deleter").
		For(&corev1.PersistentVolume{}, builder.WithPredicates(predicate.NewPredicateFuncs(func(o client.Object) bool {
			return d.owns(o.(*corev1.PersistentVolume))
		}))).
		WithOptions(controller.Options{MaxConcurrentReconciles: max(opts.Workers, 1)}).
		Complete(d)
	if err != nil {
		return fmt.Errorf("failed to set up the deleter: %w", err)
	}
	return nil
}

// mayHandle filters claim events cheaply; Reconcile decides for sure.
func (p *Provisioner) mayHandle(obj client.Object) bool {
	pvc := obj.(*corev1.PersistentVolumeClaim)
	if name := provisionerOf(pvc); name != "" && name != p.DriverName {
		return false
	}
	if p.NodeName == "" || dataSourceOf(pvc) != nil {
		return true
	}
	return pvc.Annotations[AnnSelectedNode] == p.NodeName || pvc.Annotations[AnnProvisioningNode] == p.NodeName
}

func dataSourceKey(obj client.Object) []string {
	if src := dataSourceOf(obj.(*corev1.PersistentVolumeClaim)); src != nil {
		return []string{src.kind + "/" + src.name}
	}
	return nil
}

// claimsUsing maps a changed data source to the claims restored or cloned
// from it.
func (p *Provisioner) claimsUsing(kind string) handler.MapFunc {
	return func(ctx context.Context, obj client.Object) []reconcile.Request {
		claims := &corev1.PersistentVolumeClaimList{}
		err := p.Client.List(ctx, claims, client.InNamespace(obj.GetNamespace()),
			client.MatchingFields{indexDataSource: kind + "/" + obj.GetName()})
		if err != nil {
			return nil
		}
		reqs := make([]reconcile.Request, 0, len(claims.Items))
		for _, c := range claims.Items {
			reqs = append(reqs, reconcile.Request{NamespacedName: client.ObjectKeyFromObject(&c)})
		}
		return reqs
	}
}
