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

package nodegone

import (
	"context"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/client-go/tools/events"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"
	logf "sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/predicate"

	"github.com/plinth-dev/plinth/internal/apiserved"
	"github.com/plinth-dev/plinth/internal/objpatch"
)

// ControllerName names the controller (--enable-node-gone).
const ControllerName = "node-gone"

// DefaultGrace is how long a node must have been absent, counted from the
// object's deletion, before its finalizers are released.
const DefaultGrace = 5 * time.Minute

// ReasonNodeGone is the Event reason on a released object.
const ReasonNodeGone = "NodeGone"

// +kubebuilder:rbac:groups="",resources=nodes,verbs=get;list;watch
// +kubebuilder:rbac:groups="",resources=persistentvolumeclaims,verbs=get;list;watch;patch
// +kubebuilder:rbac:groups="",resources=persistentvolumes,verbs=get;list;watch;patch
// +kubebuilder:rbac:groups=snapshot.storage.k8s.io,resources=volumesnapshotcontents,verbs=get;list;watch;patch
// +kubebuilder:rbac:groups=events.k8s.io,resources=events,verbs=create;patch

// Reconciler releases the objects held by a vanished node. It reconciles
// one kind: SetupWithManager registers a copy of it for each.
type Reconciler struct {
	// Client reads Nodes and the held objects, and patches the objects.
	Client client.Client
	// Recorder emits Events on released objects.
	Recorder events.EventRecorder
	// Grace is how long the node must have been gone; zero means DefaultGrace.
	Grace time.Duration
	// Now returns the time; nil means time.Now.
	Now func() time.Time
	// kind is the kind this copy reconciles.
	kind kind
}

// SetupWithManager registers a copy of r for each kind a node holds, except
// snapshot contents where the snapshot API is not installed.
func (r *Reconciler) SetupWithManager(mgr ctrl.Manager) error {
	return apiserved.EachServed(mgr, kinds, func(k kind) client.Object { return k.newObject() }, func(k kind) error {
		forKind := *r
		forKind.kind = k
		return forKind.watch(mgr)
	})
}

// watch registers r for the objects of its kind that are being deleted and
// still hold its finalizer.
func (r *Reconciler) watch(mgr ctrl.Manager) error {
	held := predicate.NewPredicateFuncs(func(o client.Object) bool {
		return !o.GetDeletionTimestamp().IsZero() && controllerutil.ContainsFinalizer(o, r.kind.finalizer) && r.kind.nodeOf(o) != ""
	})
	err := ctrl.NewControllerManagedBy(mgr).Named(ControllerName+"-"+r.kind.name).
		For(r.kind.newObject(), builder.WithPredicates(held)).Complete(r)
	if err != nil {
		return fmt.Errorf("failed to set up the %s controller for %ss: %w", ControllerName, r.kind.name, err)
	}
	return nil
}

// Reconcile releases the object's finalizer once its node has been gone for
// the grace period, and checks again at the end of the period otherwise.
func (r *Reconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	obj := r.kind.newObject()
	if err := r.Client.Get(ctx, req.NamespacedName, obj); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	node := r.kind.nodeOf(obj)
	if obj.GetDeletionTimestamp().IsZero() || !controllerutil.ContainsFinalizer(obj, r.kind.finalizer) || node == "" {
		return ctrl.Result{}, nil
	}
	gone, err := r.nodeGone(ctx, node)
	if err != nil || !gone {
		// The node's plinth-node removes the finalizer; if the node goes
		// away meanwhile, the next check sees it.
		return ctrl.Result{RequeueAfter: r.grace()}, err
	}
	if wait := obj.GetDeletionTimestamp().Add(r.grace()).Sub(r.now()); wait > 0 {
		return ctrl.Result{RequeueAfter: wait}, nil
	}
	return ctrl.Result{}, r.release(ctx, obj, node)
}

func (r *Reconciler) nodeGone(ctx context.Context, name string) (bool, error) {
	err := r.Client.Get(ctx, client.ObjectKey{Name: name}, &corev1.Node{})
	if apierrors.IsNotFound(err) {
		return true, nil
	}
	if err != nil {
		return false, fmt.Errorf("failed to get node %s: %w", name, err)
	}
	return false, nil
}

// release removes the finalizer (optimistically locked, so a node that
// came back and released it meanwhile wins) and reports what was lost.
func (r *Reconciler) release(ctx context.Context, obj client.Object, node string) error {
	base := obj.DeepCopyObject().(client.Object)
	controllerutil.RemoveFinalizer(obj, r.kind.finalizer)
	err := r.Client.Patch(ctx, obj, objpatch.LockedMerge(base))
	if apierrors.IsNotFound(err) || apierrors.IsConflict(err) {
		return nil // gone, or changed: a conflict brings it back if it still matters
	}
	if err != nil {
		return fmt.Errorf("failed to release %s %s: %w", r.kind.name, obj.GetName(), err)
	}
	logf.FromContext(ctx).Info("Released the finalizer of a vanished node", "node", node, "finalizer", r.kind.finalizer)
	r.Recorder.Eventf(obj, nil, corev1.EventTypeWarning, ReasonNodeGone, "ReleaseFinalizer",
		"Node %s no longer exists: removed finalizer %s; whatever its pool held for this object was not cleaned up there", node, r.kind.finalizer)
	return nil
}

func (r *Reconciler) grace() time.Duration {
	if r.Grace > 0 {
		return r.Grace
	}
	return DefaultGrace
}

func (r *Reconciler) now() time.Time {
	if r.Now != nil {
		return r.Now()
	}
	return time.Now()
}
