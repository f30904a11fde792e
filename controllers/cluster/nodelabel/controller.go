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

package nodelabel

import (
	"context"
	"fmt"

	snapshotv1 "github.com/kubernetes-csi/external-snapshotter/client/v8/apis/volumesnapshot/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	logf "sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/predicate"

	"github.com/plinth-dev/plinth/internal/apiserved"
	"github.com/plinth-dev/plinth/internal/objpatch"
	"github.com/plinth-dev/plinth/internal/wellknown"
)

// ControllerName names the controller (--enable-node-label).
const ControllerName = "node-label"

// +kubebuilder:rbac:groups="",resources=persistentvolumes,verbs=get;list;watch;patch
// +kubebuilder:rbac:groups=snapshot.storage.k8s.io,resources=volumesnapshotcontents,verbs=get;list;watch;patch

// kind is one kind of object the controller labels.
type kind struct {
	name      string
	newObject func() client.Object
	// ofDriver reports whether obj is the named driver's.
	ofDriver func(obj client.Object, driver string) bool
}

var kinds = []kind{
	{
		name: "pv", newObject: func() client.Object { return &corev1.PersistentVolume{} },
		ofDriver: func(o client.Object, driver string) bool {
			csi := o.(*corev1.PersistentVolume).Spec.CSI
			return csi != nil && csi.Driver == driver
		},
	},
	{
		name: "content", newObject: func() client.Object { return &snapshotv1.VolumeSnapshotContent{} },
		ofDriver: func(o client.Object, driver string) bool {
			return o.(*snapshotv1.VolumeSnapshotContent).Spec.Driver == driver
		},
	},
}

// Reconciler labels the unlabelled objects of one kind of the driver.
// SetupWithManager registers a copy of it for each kind.
type Reconciler struct {
	// Client reads and patches the objects.
	Client client.Client
	// DriverName is the CSI driver whose objects are labelled.
	DriverName string
	kind       kind
}

// SetupWithManager registers a copy of r for PVs and, where the snapshot
// API is installed, for snapshot contents.
func (r *Reconciler) SetupWithManager(mgr ctrl.Manager) error {
	return apiserved.EachServed(mgr, kinds, func(k kind) client.Object { return k.newObject() }, func(k kind) error {
		forKind := *r
		forKind.kind = k
		return forKind.watch(mgr)
	})
}

func (r *Reconciler) watch(mgr ctrl.Manager) error {
	err := ctrl.NewControllerManagedBy(mgr).Named(ControllerName+"-"+r.kind.name).
		For(r.kind.newObject(), builder.WithPredicates(predicate.NewPredicateFuncs(r.unlabelled))).Complete(r)
	if err != nil {
		return fmt.Errorf("failed to set up the %s controller for %ss: %w", ControllerName, r.kind.name, err)
	}
	return nil
}

// unlabelled reports whether obj is the driver's and has no node label.
func (r *Reconciler) unlabelled(obj client.Object) bool {
	_, labelled := obj.GetLabels()[wellknown.LabelNode]
	return !labelled && r.kind.ofDriver(obj, r.DriverName)
}

// Reconcile labels one object with the node its wellknown.AnnNode names,
// or else Unclaimed, unless it has a node label by now.
func (r *Reconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	obj := r.kind.newObject()
	if err := r.Client.Get(ctx, req.NamespacedName, obj); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	if !r.unlabelled(obj) {
		return ctrl.Result{}, nil
	}
	base := obj.DeepCopyObject().(client.Object)
	labels := obj.GetLabels()
	if labels == nil {
		labels = map[string]string{}
	}
	labels[wellknown.LabelNode] = wellknown.NodeUnclaimed
	if node := obj.GetAnnotations()[wellknown.AnnNode]; node != "" {
		// Made by Plinth before it labelled what it makes: the node is
		// known.
		labels[wellknown.LabelNode] = wellknown.NodeLabel(node)
	}
	obj.SetLabels(labels)
	// The optimistic lock keeps a node's claim, made since the read, from
	// being overwritten.
	err := r.Client.Patch(ctx, obj, objpatch.LockedMerge(base))
	if apierrors.IsConflict(err) {
		// Changed since the cache read it: the update's event brings it
		// back if it is still unlabelled.
		return ctrl.Result{}, nil
	}
	if client.IgnoreNotFound(err) != nil {
		return ctrl.Result{}, fmt.Errorf("failed to label %s %s: %w", r.kind.name, req.Name, err)
	}
	logf.FromContext(ctx).V(1).Info("Labelled unclaimed", "kind", r.kind.name, "name", req.Name)
	return ctrl.Result{}, nil
}
