package capacity

import (
	"context"
	"fmt"

	snapshotv1 "github.com/kubernetes-csi/external-snapshotter/client/v8/apis/volumesnapshot/v1"
	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	"k8s.io/client-go/util/workqueue"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
	"sigs.k8s.io/controller-runtime/pkg/source"
)

// SetupWithManager registers the publisher. Every change of a PV of the
// driver (and, with watchSnapshots, of a snapshot content) refreshes all of
// the driver's classes: each volume or snapshot changes what is left. So
// does every change of the node's topology, which moves the objects to the
// new topology and decides anew which classes' allowedTopologies admit the
// node.
func (p *Publisher) SetupWithManager(mgr ctrl.Manager, watchSnapshots bool) error {
	b := ctrl.NewControllerManagedBy(mgr).
		Named("capacity").
		For(&storagev1.StorageClass{}).
		WatchesRawSource(source.Func(p.topologyChanges)).
		Watches(&storagev1.CSIStorageCapacity{}, handler.EnqueueRequestsFromMapFunc(classOf), builder.WithPredicates(
			predicate.NewPredicateFuncs(func(o client.Object) bool {
				return o.GetNamespace() == p.Namespace && o.GetLabels()[LabelManagedBy] == ManagedBy(p.NodeName)
			}))).
		Watches(&corev1.PersistentVolume{}, handler.EnqueueRequestsFromMapFunc(p.allClasses), builder.WithPredicates(
			predicate.NewPredicateFuncs(func(o client.Object) bool {
				pv := o.(*corev1.PersistentVolume)
				return pv.Spec.CSI != nil && pv.Spec.CSI.Driver == p.DriverName
			})))
	if watchSnapshots {
		b = b.Watches(&snapshotv1.VolumeSnapshotContent{}, handler.EnqueueRequestsFromMapFunc(p.allClasses))
	}
	if err := b.Complete(p); err != nil {
		return fmt.Errorf("failed to set up the capacity publisher: %w", err)
	}
	return nil
}

// allClasses enqueues every StorageClass of the driver.
func (p *Publisher) allClasses(ctx context.Context, _ client.Object) []reconcile.Request {
	classes := &storagev1.StorageClassList{}
	if err := p.Client.List(ctx, classes); err != nil {
		return nil
	}
	var reqs []reconcile.Request
	for _, c := range classes.Items {
		if c.Provisioner == p.DriverName {
			reqs = append(reqs, reconcile.Request{NamespacedName: client.ObjectKey{Name: c.Name}})
		}
	}
	return reqs
}

// topologyChanges enqueues every class of the driver on each change of the
// node's topology, until ctx is done.
func (p *Publisher) topologyChanges(ctx context.Context, queue workqueue.TypedRateLimitingInterface[reconcile.Request]) error {
	go func() {
		changed := p.Topology.Changed()
		for {
			select {
			case <-ctx.Done():
				return
			case <-changed:
			}
			// The next channel is taken before the classes are enqueued,
			// so a change while they are being reconciled is not missed.
			changed = p.Topology.Changed()
			for _, req := range p.allClasses(ctx, nil) {
				queue.Add(req)
			}
		}
	}()
	return nil
}

// classOf enqueues the class of a CSIStorageCapacity, so that an object
// changed or deleted by someone else is put right.
func classOf(_ context.Context, obj client.Object) []reconcile.Request {
	return []reconcile.Request{{NamespacedName: client.ObjectKey{Name: obj.(*storagev1.CSIStorageCapacity).StorageClassName}}}
}

// CacheOptions confines a manager's cache of CSIStorageCapacity objects to
// namespace, Plinth's own, where the publisher writes them: the components
// then need access to them in that namespace only.
func CacheOptions(namespace string) cache.Options {
	return cache.Options{ByObject: map[client.Object]cache.ByObject{
		&storagev1.CSIStorageCapacity{}: {Namespaces: map[string]cache.Config{namespace: {}}},
	}}
}
