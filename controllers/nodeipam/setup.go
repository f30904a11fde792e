package nodeipam

import (
	"context"
	"fmt"
	"slices"

	corev1 "k8s.io/api/core/v1"
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

// Setup registers the node pod-CIDR allocator with mgr, with the manager's
// clients and an event recorder. It matches plinth-controller's controller
// registry.
func Setup(_ context.Context, mgr ctrl.Manager) error {
	r := &Reconciler{
		Client:    mgr.GetClient(),
		APIReader: mgr.GetAPIReader(),
		Recorder:  mgr.GetEventRecorder("plinth-" + ControllerName),
	}
	return r.SetupWithManager(mgr)
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
