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

package capacity

import (
	"context"
	"fmt"
	"slices"
	"time"

	snapshotv1 "github.com/kubernetes-csi/external-snapshotter/client/v8/apis/volumesnapshot/v1"
	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/client-go/util/workqueue"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
	"sigs.k8s.io/controller-runtime/pkg/source"

	"github.com/plinth-dev/plinth/controllers/node/nodedeps"
	"github.com/plinth-dev/plinth/internal/storageclass"
	"github.com/plinth-dev/plinth/internal/wellknown"
)

// Publisher keeps this node's CSIStorageCapacity objects current.
type Publisher struct {
	nodedeps.Deps
	// Namespace holds the CSIStorageCapacity objects (the driver's namespace).
	Namespace string
	// Topology is the node's accessible topology, as NodeGetInfo reports
	// it; every change republishes all classes.
	Topology Topology
	// Resync is the period of the refresh that catches changes outside the
	// API; zero means one minute.
	Resync time.Duration
	// WatchSnapshots refreshes the classes on every change of a snapshot
	// content; it needs the snapshot.storage.k8s.io CRDs.
	WatchSnapshots bool
	// Coalesce is how long a change of a volume or snapshot on this node
	// waits before the classes are republished, so that the changes of a
	// burst cost one write per class, not one per volume; zero means one
	// second, negative means none.
	Coalesce time.Duration
}

// Topology tells the node's current topology and its changes;
// *topology.Node of package csi-driver/topology is one.
type Topology interface {
	// Segments returns the topology, nil while it is not known yet.
	Segments() map[string]string
	// Changed returns a channel closed at the next change of Segments.
	Changed() <-chan struct{}
}

// +kubebuilder:rbac:groups=storage.k8s.io,resources=csistoragecapacities,verbs=get;list;watch;create;update;patch;delete,namespace=plinth-system
// +kubebuilder:rbac:groups=storage.k8s.io,resources=storageclasses,verbs=get;list;watch
// +kubebuilder:rbac:groups="",resources=nodes,verbs=get;list;watch

// Reconcile publishes (or withdraws) the capacity of the node for one class.
func (p *Publisher) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	class := &storagev1.StorageClass{}
	err := p.Client.Get(ctx, req.NamespacedName, class)
	if client.IgnoreNotFound(err) != nil {
		return ctrl.Result{}, fmt.Errorf("failed to get StorageClass: %w", err)
	}
	segments := p.Topology.Segments()
	if segments == nil {
		return ctrl.Result{}, nil // the topology becoming known enqueues every class
	}
	name := ObjectName(p.NodeName, req.Name)
	if apierrors.IsNotFound(err) || class.Provisioner != p.DriverName || !storageclass.TopologyAllowed(class, segments) {
		return ctrl.Result{}, p.withdraw(ctx, name)
	}
	capacity, err := p.capacity(ctx, class, segments)
	if err != nil {
		return ctrl.Result{}, err
	}
	if err := p.publish(ctx, name, class.Name, segments, capacity); err != nil {
		return ctrl.Result{}, err
	}
	return ctrl.Result{RequeueAfter: p.resync()}, nil
}

// SetupWithManager registers the publisher. Every change of a PV of the
// driver on this node (and, with WatchSnapshots, of a snapshot content cut
// on it) refreshes all of the driver's classes, a Coalesce window later:
// each volume or snapshot changes what is left. So does every change of the
// node's topology, at once, which moves the objects to the new topology and
// decides anew which classes' allowedTopologies admit the node.
func (p *Publisher) SetupWithManager(mgr ctrl.Manager) error {
	b := ctrl.NewControllerManagedBy(mgr).
		Named("capacity").
		For(&storagev1.StorageClass{}).
		WatchesRawSource(source.Func(p.topologyChanges)).
		Watches(&storagev1.CSIStorageCapacity{}, handler.EnqueueRequestsFromMapFunc(classOf), builder.WithPredicates(
			predicate.NewPredicateFuncs(func(o client.Object) bool {
				return o.GetNamespace() == p.Namespace && o.GetLabels()[wellknown.LabelCapacityManagedBy] == wellknown.CapacityManagedBy(p.NodeName)
			}))).
		Watches(&corev1.PersistentVolume{}, p.coalesced(), builder.WithPredicates(predicate.NewPredicateFuncs(p.volumeHere)))
	if p.WatchSnapshots {
		b = b.Watches(&snapshotv1.VolumeSnapshotContent{}, p.coalesced(), builder.WithPredicates(predicate.NewPredicateFuncs(p.snapshotHere)))
	}
	if err := b.Complete(p); err != nil {
		return fmt.Errorf("failed to set up the capacity publisher: %w", err)
	}
	return nil
}

// volumeHere reports whether a PV is one of the driver's volumes on this
// node: only those change the node's pool.
func (p *Publisher) volumeHere(o client.Object) bool {
	pv := o.(*corev1.PersistentVolume)
	if pv.Spec.CSI == nil || pv.Spec.CSI.Driver != p.DriverName {
		return false
	}
	if pv.Spec.NodeAffinity == nil || pv.Spec.NodeAffinity.Required == nil {
		return true // no affinity to go by: it may be here
	}
	for _, term := range pv.Spec.NodeAffinity.Required.NodeSelectorTerms {
		for _, e := range term.MatchExpressions {
			if e.Key == wellknown.TopologyKeyNode && slices.Contains(e.Values, p.NodeName) {
				return true
			}
		}
	}
	return false
}

// snapshotHere reports whether a snapshot content was cut on this node, or
// may have been (an imported content names no node).
func (p *Publisher) snapshotHere(o client.Object) bool {
	node, ok := o.GetAnnotations()[wellknown.AnnNode]
	return !ok || node == p.NodeName
}

// coalesced enqueues every class of the driver a Coalesce window after an
// event; the workqueue keeps one entry per class however many events come
// within the window.
func (p *Publisher) coalesced() handler.EventHandler {
	window := p.Coalesce
	if window == 0 {
		window = time.Second
	}
	enqueue := func(ctx context.Context, q workqueue.TypedRateLimitingInterface[reconcile.Request]) {
		for _, req := range p.allClasses(ctx, nil) {
			if window < 0 {
				q.Add(req)
			} else {
				q.AddAfter(req, window)
			}
		}
	}
	return handler.Funcs{
		CreateFunc: func(ctx context.Context, _ event.CreateEvent, q workqueue.TypedRateLimitingInterface[reconcile.Request]) {
			enqueue(ctx, q)
		},
		UpdateFunc: func(ctx context.Context, _ event.UpdateEvent, q workqueue.TypedRateLimitingInterface[reconcile.Request]) {
			enqueue(ctx, q)
		},
		DeleteFunc: func(ctx context.Context, _ event.DeleteEvent, q workqueue.TypedRateLimitingInterface[reconcile.Request]) {
			enqueue(ctx, q)
		},
		GenericFunc: func(ctx context.Context, _ event.GenericEvent, q workqueue.TypedRateLimitingInterface[reconcile.Request]) {
			enqueue(ctx, q)
		},
	}
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

func (p *Publisher) resync() time.Duration {
	if p.Resync == 0 {
		return time.Minute
	}
	return p.Resync
}
