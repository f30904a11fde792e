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

package nodeipam

import (
	"context"
	"errors"
	"fmt"
	"slices"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/client-go/tools/events"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	networkv1alpha1 "github.com/plinth-dev/plinth/apis/network/v1alpha1"
)

// ControllerName names the controller, its logs and its Events.
const ControllerName = "node-ipam"

// ClusterNetworkName is the name of the cluster's one ClusterNetwork.
const ClusterNetworkName = "default"

// Reasons of the Events the allocator emits on Nodes.
const (
	// ReasonPodCIDRAllocated: the node got its blocks.
	ReasonPodCIDRAllocated = "PodCIDRAllocated"
	// ReasonPodCIDRExhausted: a pod CIDR has no free block for the node.
	ReasonPodCIDRExhausted = "PodCIDRExhausted"
	// ReasonPodCIDROutsideRange: the node's existing CIDR lies outside the
	// ClusterNetwork's pod CIDRs; the node is left alone.
	ReasonPodCIDROutsideRange = "PodCIDROutsideRange"
	// ReasonPodCIDRConflict: the node's existing CIDR overlaps another
	// node's block.
	ReasonPodCIDRConflict = "PodCIDRConflict"
)

// eventAction is the action of every Event the allocator emits.
const eventAction = "AllocatePodCIDR"

// Reconciler allocates Node.spec.podCIDRs from the ClusterNetwork. Every
// request, whatever Node or ClusterNetwork change caused it, reconciles the
// whole cluster under the one key ClusterNetworkName, so reconciles never
// overlap and allocation needs no lock.
type Reconciler struct {
	// Client reads through the manager's cache and writes Nodes and the
	// ClusterNetwork status.
	Client client.Client
	// APIReader reads from the API server directly: the allocator is rebuilt
	// from it, and a Node missing from the cache is confirmed gone with it,
	// so that a lagging cache never frees a block that is in use.
	APIReader client.Reader
	// Recorder emits Events on Nodes.
	Recorder events.EventRecorder

	state *state
}

// state is the allocator built for one ClusterNetwork spec.
type state struct {
	key   string
	alloc *allocator
	// seen maps each node to the podCIDRs already recorded for it, so that
	// a node's Warnings are emitted once per change, not every reconcile.
	seen map[string]string
	// waiting are the nodes told that the pod CIDRs are exhausted.
	waiting map[string]bool
}

// +kubebuilder:rbac:groups=network.plinth.dev,resources=clusternetworks,verbs=get;list;watch
// +kubebuilder:rbac:groups=network.plinth.dev,resources=clusternetworks/status,verbs=get;update;patch
// +kubebuilder:rbac:groups="",resources=nodes,verbs=get;list;watch;patch
// +kubebuilder:rbac:groups=events.k8s.io,resources=events,verbs=create;patch

// Reconcile brings every Node's pod CIDRs and the ClusterNetwork's status up
// to date.
func (r *Reconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	cn := &networkv1alpha1.ClusterNetwork{}
	if err := r.Client.Get(ctx, req.NamespacedName, cn); err != nil {
		if apierrors.IsNotFound(err) {
			r.state = nil // nothing to allocate from; rebuilt when one appears
			return ctrl.Result{}, nil
		}
		return ctrl.Result{}, fmt.Errorf("failed to get ClusterNetwork: %w", err)
	}
	if err := r.ensureState(ctx, cn); err != nil {
		return ctrl.Result{}, err
	}
	nodes, err := listNodes(ctx, r.Client)
	if err != nil {
		return ctrl.Result{}, err
	}
	if err := r.forgetDeleted(ctx, nodes); err != nil {
		return ctrl.Result{}, err
	}
	r.observe(ctx, nodes)
	unassigned, assignErr := r.assignPending(ctx, nodes)
	return ctrl.Result{}, errors.Join(assignErr, r.updateStatus(ctx, cn, unassigned))
}

// SetupWithManager registers r with mgr. Every event maps to the one
// ClusterNetwork key, and only one reconcile runs at a time.
func (r *Reconciler) SetupWithManager(mgr ctrl.Manager) error {
	err := ctrl.NewControllerManagedBy(mgr).
		Named(ControllerName).
		For(&networkv1alpha1.ClusterNetwork{}, builder.WithPredicates(predicate.GenerationChangedPredicate{})).
		Watches(&corev1.Node{}, handler.EnqueueRequestsFromMapFunc(toClusterNetwork), builder.WithPredicates(podCIDRsChanged())).
		WithOptions(controller.Options{MaxConcurrentReconciles: 1}).
		Complete(r)
	if err != nil {
		return fmt.Errorf("failed to set up the %s controller: %w", ControllerName, err)
	}
	return nil
}

// toClusterNetwork maps any Node event to the ClusterNetwork.
func toClusterNetwork(context.Context, client.Object) []reconcile.Request {
	return []reconcile.Request{{NamespacedName: client.ObjectKey{Name: ClusterNetworkName}}}
}

// podCIDRsChanged passes Node creations and deletions, and the updates that
// change the pod CIDRs; a node's frequent status updates do not matter here.
func podCIDRsChanged() predicate.Funcs {
	return predicate.Funcs{
		UpdateFunc: func(e event.UpdateEvent) bool {
			oldNode, okOld := e.ObjectOld.(*corev1.Node)
			newNode, okNew := e.ObjectNew.(*corev1.Node)
			return !okOld || !okNew || !slices.Equal(podCIDRsOf(oldNode), podCIDRsOf(newNode))
		},
		GenericFunc: func(event.GenericEvent) bool { return false },
	}
}
