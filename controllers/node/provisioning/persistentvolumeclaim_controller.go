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

package provisioning

import (
	"context"
	"fmt"

	snapshotv1 "github.com/kubernetes-csi/external-snapshotter/client/v8/apis/volumesnapshot/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/component-helpers/storage/volume"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	"github.com/plinth-dev/plinth/controllers/node/nodedeps"
	"github.com/plinth-dev/plinth/internal/wellknown"
)

// Event reasons, as the upstream provisioner emits them.
const (
	ReasonProvisioning         = "Provisioning"
	ReasonProvisioningSucceded = "ProvisioningSucceeded"
	ReasonProvisioningFailed   = "ProvisioningFailed"
	ReasonRescheduling         = "Rescheduling"
	ReasonCleanupFailed        = "VolumeCleanupFailed"
)

// indexDataSource indexes claims by "<namespace>/<Kind>/<name>" of their
// data source.
const indexDataSource = "plinth.dataSource"

// Provisioner provisions the claims selected for this node.
type Provisioner struct {
	nodedeps.Deps
	// Reader reads from the API server itself; it confirms that a PV the
	// cache does not show yet is really missing before provisioning again
	// (a PV created a moment ago may not have reached the cache).
	Reader client.Reader
	// Topology is this node's accessible topology, as NodeGetInfo reports
	// it, read afresh for every claim.
	Topology Topology
	// Workers is the number of claims provisioned in parallel; zero means
	// one.
	Workers int
	// WatchSnapshots watches VolumeSnapshots to restore from them as soon as
	// they are ready; it needs the snapshot.storage.k8s.io CRDs.
	WatchSnapshots bool
	// Abandoned, when set, learns the volumes whose cleanup failed for good,
	// so that the orphan sweep deletes them later; *orphans.Ledger is one.
	Abandoned Ledger
}

// Ledger records volumes the provisioner gave up on.
type Ledger interface {
	// Add records the volume with the given ID durably; on an error the
	// claim is kept, and its cleanup retried.
	Add(volumeID string) error
}

// Topology tells the node's current topology; *topology.Node of package
// csi-driver/topology is one.
type Topology interface {
	// Segments returns the topology, nil while it is not known yet.
	Segments() map[string]string
}

// +kubebuilder:rbac:groups="",resources=persistentvolumeclaims,verbs=get;list;watch;update;patch
// +kubebuilder:rbac:groups="",resources=persistentvolumes,verbs=get;list;watch;create;delete;update;patch
// +kubebuilder:rbac:groups=storage.k8s.io,resources=storageclasses,verbs=get;list;watch
// +kubebuilder:rbac:groups=events.k8s.io,resources=events,verbs=create;patch
// +kubebuilder:rbac:groups=snapshot.storage.k8s.io,resources=volumesnapshots;volumesnapshotcontents,verbs=get;list;watch

// Reconcile provisions a claim, or cleans up after one that was deleted
// before its volume was recorded in a PV.
func (p *Provisioner) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	pvc := &corev1.PersistentVolumeClaim{}
	if err := p.Client.Get(ctx, req.NamespacedName, pvc); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	if ok, err := p.responsibleFor(ctx, pvc); !ok || err != nil {
		return ctrl.Result{}, err
	}
	recorded, err := p.volumeRecorded(ctx, pvc)
	if err != nil {
		return ctrl.Result{}, err
	}
	switch {
	case recorded:
		return ctrl.Result{}, p.release(ctx, pvc)
	case !pvc.DeletionTimestamp.IsZero():
		return ctrl.Result{}, p.cleanUp(ctx, pvc)
	case pvc.Spec.VolumeName != "":
		return ctrl.Result{}, nil // bound to a PV someone else made
	}
	return ctrl.Result{}, p.provision(ctx, pvc)
}

// SetupWithManager registers the provisioner for the claims of this node,
// and of restores and clones whose source may live here; a change of a
// source claim (or, with WatchSnapshots, of a snapshot) brings back the
// claims made from it.
func (p *Provisioner) SetupWithManager(mgr ctrl.Manager) error {
	// Indexes are registered before the manager starts, so no context of
	// the manager's run exists yet.
	if err := mgr.GetFieldIndexer().IndexField(context.Background(), &corev1.PersistentVolumeClaim{}, indexDataSource, dataSourceKey); err != nil {
		return fmt.Errorf("failed to index claims by data source: %w", err)
	}
	b := ctrl.NewControllerManagedBy(mgr).
		Named("provisioner").
		For(&corev1.PersistentVolumeClaim{}, builder.WithPredicates(predicate.NewPredicateFuncs(p.mayHandle))).
		Watches(&corev1.PersistentVolumeClaim{}, handler.EnqueueRequestsFromMapFunc(p.claimsUsing("PersistentVolumeClaim"))).
		WithOptions(controller.Options{MaxConcurrentReconciles: max(p.Workers, 1)})
	if p.WatchSnapshots {
		b = b.Watches(&snapshotv1.VolumeSnapshot{}, handler.EnqueueRequestsFromMapFunc(p.claimsUsing("VolumeSnapshot")))
	}
	if err := b.Complete(p); err != nil {
		return fmt.Errorf("failed to set up the provisioner: %w", err)
	}
	return nil
}

// mayHandle filters claim events cheaply; Reconcile decides for sure.
func (p *Provisioner) mayHandle(obj client.Object) bool {
	pvc := obj.(*corev1.PersistentVolumeClaim)
	if name := provisionerOf(pvc); name != "" && name != p.DriverName {
		return false
	}
	if dataSourceOf(pvc) != nil {
		return true
	}
	return pvc.Annotations[volume.AnnSelectedNode] == p.NodeName || pvc.Annotations[wellknown.AnnProvisioningNode] == p.NodeName
}

func dataSourceKey(obj client.Object) []string {
	if src := dataSourceOf(obj.(*corev1.PersistentVolumeClaim)); src != nil {
		return []string{src.key()}
	}
	return nil
}

// claimsUsing maps a changed data source to the claims restored or cloned
// from it, in its namespace or (through a ReferenceGrant) in others.
func (p *Provisioner) claimsUsing(kind string) handler.MapFunc {
	return func(ctx context.Context, obj client.Object) []reconcile.Request {
		claims := &corev1.PersistentVolumeClaimList{}
		key := (&dataSource{namespace: obj.GetNamespace(), kind: kind, name: obj.GetName()}).key()
		err := p.Client.List(ctx, claims, client.MatchingFields{indexDataSource: key})
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
