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

package nodepicker

import (
	"context"
	"errors"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/client-go/tools/events"
	"k8s.io/component-helpers/storage/volume"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	logf "sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	"github.com/plinth-dev/plinth/internal/wellknown"
)

// ControllerName names the controller, its logs and its Events
// (--enable-node-picker in plinth-controller).
const ControllerName = "node-picker"

// Event reasons on claims.
const (
	// ReasonNodeSelected: a node was selected for the claim's volume.
	ReasonNodeSelected = "NodeSelected"
	// ReasonProvisioningFailed: no node can take the claim's volume now.
	ReasonProvisioningFailed = "ProvisioningFailed"
)

// DefaultBackoff is how long a claim without a candidate node waits before
// it is evaluated again, unless a capacity or class change comes first.
const DefaultBackoff = 30 * time.Second

// indexPendingClass indexes the claims waiting for a node by class name.
const indexPendingClass = "plinth.nodepicker.pendingClass"

// errNoCandidate says that no node can take a claim's volume now.
var errNoCandidate = errors.New("no node can take the volume")

// Picker selects the node of pending claims of Immediate Plinth classes.
type Picker struct {
	// Client reads from the manager's cache and writes to the API server.
	Client client.Client
	// Recorder emits Events on claims.
	Recorder events.EventRecorder
	// DriverName is the CSI driver and provisioner name.
	DriverName string
	// Backoff is the wait before a claim without a candidate node is
	// evaluated again; zero means DefaultBackoff.
	Backoff time.Duration

	reservations reservations
}

// SetupWithManager registers p with mgr: claims that may need a node, and
// the CSIStorageCapacities and StorageClasses that decide where they go.
func (p *Picker) SetupWithManager(mgr ctrl.Manager) error {
	// Indexes are registered before the manager starts, so no context of
	// the manager's run exists yet.
	if err := mgr.GetFieldIndexer().IndexField(context.Background(), &corev1.PersistentVolumeClaim{}, indexPendingClass, pendingClassKey); err != nil {
		return fmt.Errorf("failed to index claims by class: %w", err)
	}
	err := ctrl.NewControllerManagedBy(mgr).
		Named(ControllerName).
		For(&corev1.PersistentVolumeClaim{}, builder.WithPredicates(predicate.NewPredicateFuncs(func(o client.Object) bool {
			pvc, ok := o.(*corev1.PersistentVolumeClaim)
			return ok && needsNode(pvc)
		}))).
		Watches(&storagev1.CSIStorageCapacity{}, handler.EnqueueRequestsFromMapFunc(p.claimsOfCapacity),
			builder.WithPredicates(predicate.NewPredicateFuncs(p.isOurCapacity))).
		Watches(&storagev1.StorageClass{}, handler.EnqueueRequestsFromMapFunc(p.claimsOfClass)).
		Complete(p)
	if err != nil {
		return fmt.Errorf("failed to set up the %s controller: %w", ControllerName, err)
	}
	return nil
}

// +kubebuilder:rbac:groups="",resources=persistentvolumeclaims,verbs=get;list;watch;patch
// +kubebuilder:rbac:groups="",resources=nodes,verbs=get;list;watch
// +kubebuilder:rbac:groups=storage.k8s.io,resources=storageclasses,verbs=get;list;watch
// +kubebuilder:rbac:groups=storage.k8s.io,resources=csistoragecapacities,verbs=get;list;watch,namespace=plinth-system
// +kubebuilder:rbac:groups=events.k8s.io,resources=events,verbs=create;patch

// Reconcile selects a node for one claim, when it needs one.
func (p *Picker) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	pvc := &corev1.PersistentVolumeClaim{}
	if err := p.Client.Get(ctx, req.NamespacedName, pvc); err != nil {
		if apierrors.IsNotFound(err) {
			return ctrl.Result{}, nil
		}
		return ctrl.Result{}, fmt.Errorf("failed to get claim: %w", err)
	}
	if !needsNode(pvc) {
		return ctrl.Result{}, nil
	}
	class, err := p.immediateClass(ctx, pvc)
	if err != nil || class == nil {
		return ctrl.Result{}, err
	}
	chosen, err := p.pick(ctx, pvc, class)
	if errors.Is(err, errNoCandidate) {
		return p.noCandidate(ctx, pvc, err), nil
	}
	if err != nil {
		return ctrl.Result{}, err
	}
	return ctrl.Result{}, p.selectNode(ctx, pvc, chosen)
}

// needsNode reports whether a claim waits for a node to be selected, as far
// as the claim itself tells; its class decides the rest.
func needsNode(pvc *corev1.PersistentVolumeClaim) bool {
	switch {
	case !pvc.DeletionTimestamp.IsZero(), pvc.Spec.VolumeName != "":
		return false
	case pvc.Status.Phase != "" && pvc.Status.Phase != corev1.ClaimPending:
		return false
	case pvc.Spec.StorageClassName == nil || *pvc.Spec.StorageClassName == "":
		return false
	case pvc.Spec.DataSource != nil || pvc.Spec.DataSourceRef != nil:
		return false // provisioned where the source lives
	}
	return pvc.Annotations[volume.AnnSelectedNode] == "" && pvc.Annotations[wellknown.AnnProvisioningNode] == ""
}

// pendingClassKey indexes a claim that waits for a node under its class.
func pendingClassKey(obj client.Object) []string {
	pvc, ok := obj.(*corev1.PersistentVolumeClaim)
	if !ok || !needsNode(pvc) {
		return nil
	}
	return []string{*pvc.Spec.StorageClassName}
}

// isOurCapacity passes the CSIStorageCapacities of this driver.
func (p *Picker) isOurCapacity(obj client.Object) bool {
	return obj.GetLabels()[wellknown.LabelCapacityDriverName] == p.DriverName
}

// claimsOfCapacity maps a changed CSIStorageCapacity to the claims of its
// class that wait for a node.
func (p *Picker) claimsOfCapacity(ctx context.Context, obj client.Object) []reconcile.Request {
	c, ok := obj.(*storagev1.CSIStorageCapacity)
	if !ok {
		return nil
	}
	return p.pendingClaims(ctx, c.StorageClassName)
}

// claimsOfClass maps a changed StorageClass to its claims that wait for a
// node.
func (p *Picker) claimsOfClass(ctx context.Context, obj client.Object) []reconcile.Request {
	return p.pendingClaims(ctx, obj.GetName())
}

// pendingClaims lists the claims of a class that wait for a node.
func (p *Picker) pendingClaims(ctx context.Context, className string) []reconcile.Request {
	claims := &corev1.PersistentVolumeClaimList{}
	if err := p.Client.List(ctx, claims, client.MatchingFields{indexPendingClass: className}); err != nil {
		logf.FromContext(ctx).Error(err, "Failed to list the claims waiting for a node", "storageClass", className)
		return nil
	}
	reqs := make([]reconcile.Request, 0, len(claims.Items))
	for i := range claims.Items {
		reqs = append(reqs, reconcile.Request{NamespacedName: client.ObjectKeyFromObject(&claims.Items[i])})
	}
	return reqs
}
