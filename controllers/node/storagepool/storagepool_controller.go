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

package storagepool

import (
	"context"
	"fmt"
	"time"

	"github.com/container-storage-interface/spec/lib/go/csi"
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
	"github.com/plinth-dev/plinth/controllers/node/nodedeps"
	"github.com/plinth-dev/plinth/csi-driver/backend/pool"
)

// Reconciler keeps the StoragePool of this node current.
type Reconciler struct {
	nodedeps.Deps
	// Identity is the driver's identity service, whose Probe gives Ready.
	Identity csi.IdentityClient
	// Path is the pool directory as configured.
	Path string
	// OverProvisionRatio is the pool's over-provisioning ratio; zero means 1.
	OverProvisionRatio float64
	// PoolInfo describes the pool's filesystem, such as (*pool.Pool).Info.
	PoolInfo func() (pool.Info, error)
	// Resync is the period of the refresh that catches changes outside the
	// API; zero means one minute.
	Resync time.Duration
	// WatchSnapshots refreshes the pool on every change of a snapshot
	// content of the driver; it needs the snapshot.storage.k8s.io CRDs.
	WatchSnapshots bool
}

// +kubebuilder:rbac:groups=storage.plinth.dev,resources=storagepools,verbs=get;list;watch;create;update;patch
// +kubebuilder:rbac:groups=storage.plinth.dev,resources=storagepools/status,verbs=get;update;patch
// +kubebuilder:rbac:groups="",resources=nodes,verbs=get;list;watch
// +kubebuilder:rbac:groups="",resources=persistentvolumes,verbs=get;list;watch
// +kubebuilder:rbac:groups=snapshot.storage.k8s.io,resources=volumesnapshotcontents,verbs=get;list;watch

// Reconcile creates or updates the node's StoragePool and refreshes its status.
func (r *Reconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	if req.Name != r.NodeName {
		return ctrl.Result{}, nil
	}
	node := &corev1.Node{}
	if err := r.Client.Get(ctx, client.ObjectKey{Name: r.NodeName}, node); err != nil {
		// Without its Node the pool would have no owner; the Node's
		// creation enqueues the pool again.
		return ctrl.Result{}, client.IgnoreNotFound(fmt.Errorf("failed to get node %s: %w", r.NodeName, err))
	}
	sp, err := r.ensurePool(ctx, node)
	if err != nil {
		return ctrl.Result{}, err
	}
	obs, err := r.observe(ctx)
	if err != nil {
		return ctrl.Result{}, err
	}
	if err := r.updateStatus(ctx, sp, obs); err != nil {
		return ctrl.Result{}, err
	}
	return ctrl.Result{RequeueAfter: r.resync()}, nil
}

// SetupWithManager registers the reconciler. The node's StoragePool is
// refreshed when it is deleted or its spec edited, when the Node appears
// (which also starts the first refresh), and on every change of a PV of the
// driver and, with WatchSnapshots, of a snapshot content of the driver.
func (r *Reconciler) SetupWithManager(mgr ctrl.Manager) error {
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
	if r.WatchSnapshots {
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

func (r *Reconciler) resync() time.Duration {
	if r.Resync == 0 {
		return time.Minute
	}
	return r.Resync
}
