package agent

import (
	"context"
	"fmt"
	"reflect"
	"time"

	corev1 "k8s.io/api/core/v1"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
)

// resyncPeriod re-runs Sync without Node events, repairing routes or rules
// that something else removed from the kernel.
const resyncPeriod = 5 * time.Minute

// Reconciler runs the Agent on every Node add, update and delete.
type Reconciler struct {
	// Client reads Nodes, normally the manager's cached client.
	Client client.Client
	// Agent programs this node.
	Agent *Agent
}

// +kubebuilder:rbac:groups="",resources=nodes,verbs=get;list;watch

// Reconcile syncs the node's network with the current Node list; which Node
// changed does not matter, since routes depend on all of them.
func (r *Reconciler) Reconcile(ctx context.Context, _ ctrl.Request) (ctrl.Result, error) {
	var nodes corev1.NodeList
	if err := r.Client.List(ctx, &nodes); err != nil {
		return ctrl.Result{}, fmt.Errorf("failed to list nodes: %w", err)
	}
	if err := r.Agent.Sync(ctx, nodes.Items); err != nil {
		return ctrl.Result{}, err
	}
	return ctrl.Result{RequeueAfter: resyncPeriod}, nil
}

// SetupWithManager registers the reconciler; one worker suffices because
// every request does the same, whole-node work.
func (r *Reconciler) SetupWithManager(mgr ctrl.Manager) error {
	return ctrl.NewControllerManagedBy(mgr).
		For(&corev1.Node{}, builder.WithPredicates(routingChanged())).
		Named("plinth-network-agent").
		WithOptions(controller.Options{MaxConcurrentReconciles: 1}).
		Complete(r)
}

// routingChanged ignores Node updates that cannot change routes, such as
// the kubelet's status heartbeats, which would otherwise re-run Sync for
// every node every few seconds in a large cluster.
func routingChanged() predicate.Funcs {
	return predicate.Funcs{
		UpdateFunc: func(e event.UpdateEvent) bool {
			oldNode, okOld := e.ObjectOld.(*corev1.Node)
			newNode, okNew := e.ObjectNew.(*corev1.Node)
			if !okOld || !okNew {
				return true
			}
			return !reflect.DeepEqual(routingView(oldNode), routingView(newNode))
		},
	}
}

// routingView is the part of a Node that Sync depends on.
func routingView(n *corev1.Node) nodeInfo {
	info := toInfo(n)
	info.deleting = !n.DeletionTimestamp.IsZero()
	return info
}
