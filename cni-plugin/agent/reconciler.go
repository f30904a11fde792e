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

package agent

import (
	"context"
	"fmt"
	"reflect"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/events"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
)

// resyncPeriod re-runs Sync without Node events, repairing routes or rules
// that something else removed from the kernel.
const resyncPeriod = 5 * time.Minute

// Reconciler runs the Agent on every Node add, update and delete. A failure
// is retried with the controller's backoff and reported, by ReadyzCheck and
// by an Event on this node's Node, but never stops anything else running in
// the process: storage keeps working on a node whose network does not.
type Reconciler struct {
	// Client reads Nodes, normally the manager's cached client.
	Client client.Client
	// Agent programs this node.
	Agent *Agent
	// Resolve, when set, overlays settings read from the cluster on the
	// Agent's configuration before the first Sync (see ClusterSettings).
	// It is retried until it succeeds; later changes to those settings
	// take effect at the next start.
	Resolve func(context.Context, Config) (Config, error)
	// Recorder, when set, receives the Events on this node's Node.
	Recorder events.EventRecorder

	status status
}

// +kubebuilder:rbac:groups="",resources=nodes,verbs=get;list;watch
// +kubebuilder:rbac:groups=events.k8s.io,resources=events,verbs=create;patch

// Reconcile syncs the node's network with the current Node list; the
// request does not matter, since routes depend on all Nodes.
func (r *Reconciler) Reconcile(ctx context.Context, _ ctrl.Request) (ctrl.Result, error) {
	var nodes corev1.NodeList
	if err := r.Client.List(ctx, &nodes); err != nil {
		return ctrl.Result{}, r.failed(ctx, nil, fmt.Errorf("failed to list nodes: %w", err))
	}
	self := r.ownNode(nodes.Items)
	if err := r.resolve(ctx); err != nil {
		return ctrl.Result{}, r.failed(ctx, self, err)
	}
	r.reportClusterCIDRs(ctx, self, nodes.Items)
	res, err := r.Agent.sync(ctx, nodes.Items)
	r.reportRefusals(ctx, self, nodes.Items, res.refusals)
	if err != nil {
		return ctrl.Result{}, r.failed(ctx, self, err)
	}
	if !res.programmed {
		r.status.set(errNoPodCIDRs)
		return ctrl.Result{RequeueAfter: resyncPeriod}, nil
	}
	if r.status.set(nil) {
		r.event(self, corev1.EventTypeNormal, ReasonNetworkReady, "Sync", "pod network programmed")
	}
	return ctrl.Result{RequeueAfter: resyncPeriod}, nil
}

// resolve applies Resolve once it succeeds.
func (r *Reconciler) resolve(ctx context.Context) error {
	if r.Resolve == nil {
		return nil
	}
	cfg, err := r.Resolve(ctx, r.Agent.cfg)
	if err != nil {
		return fmt.Errorf("failed to read the cluster's network settings: %w", err)
	}
	a, err := New(cfg)
	if err != nil {
		return fmt.Errorf("failed to apply the cluster's network settings: %w", err)
	}
	r.Agent, r.Resolve = a, nil
	return nil
}

// failed records err as the network's state, reports it on the Node when
// it differs from the last one reported, and returns it for the backoff.
func (r *Reconciler) failed(ctx context.Context, self *corev1.Node, err error) error {
	if r.status.set(err) {
		log.FromContext(ctx).Error(err, "cannot program the pod network")
		r.event(self, corev1.EventTypeWarning, ReasonNetworkFailed, "Sync", "%s", err.Error())
	}
	return err
}

// reportClusterCIDRs logs the cluster CIDRs when they change, and tells
// with an Event on the Node where they come from when that changes.
func (r *Reconciler) reportClusterCIDRs(ctx context.Context, self *corev1.Node, nodes []corev1.Node) {
	cidrs, source := r.Agent.ClusterCIDRs(nodes)
	sourceChanged, cidrsChanged := r.status.setCIDRs(source, fmt.Sprint(cidrs))
	if cidrsChanged {
		log.FromContext(ctx).Info("cluster CIDRs", "source", source, "cidrs", cidrs)
	}
	if sourceChanged {
		r.event(self, corev1.EventTypeNormal, ReasonClusterCIDRs, "Configure", "cluster CIDRs from %s: %v", source, cidrs)
	}
}

// reportRefusals reports each peer pod CIDR or address the agent refuses,
// once while it stays refused: a log line, a Warning Event on the refused
// Node and an increment of the refusal counter with the reason.
func (r *Reconciler) reportRefusals(ctx context.Context, self *corev1.Node, nodes []corev1.Node, refusals []refusal) {
	for _, ref := range r.status.newRefusals(refusals) {
		log.FromContext(ctx).Info("refused a peer's pod CIDR or address", "peer", ref.node, "refused", ref.what, "reason", ref.reason, "detail", ref.detail)
		peerRefusals.WithLabelValues(ref.reason).Inc()
		if r.Recorder == nil {
			continue
		}
		for i := range nodes {
			if nodes[i].Name == ref.node {
				r.Recorder.Eventf(&nodes[i], self, corev1.EventTypeWarning, ReasonPeerRefused, "Route", "%s (seen by %s)", ref.message(), r.Agent.cfg.NodeName)
			}
		}
	}
}

// ownNode finds this node in nodes, or stands in for it so that Events
// still name it.
func (r *Reconciler) ownNode(nodes []corev1.Node) *corev1.Node {
	name := r.Agent.cfg.NodeName
	for i := range nodes {
		if nodes[i].Name == name {
			return &nodes[i]
		}
	}
	return &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: name}}
}

func (r *Reconciler) event(self *corev1.Node, eventType, reason, action, note string, args ...any) {
	if r.Recorder == nil || self == nil {
		return
	}
	r.Recorder.Eventf(self, nil, eventType, reason, action, note, args...)
}

// SetupWithManager registers the reconciler. Every Node event enqueues the
// same request, this node's: Sync covers all Nodes anyway, one worker does
// it, and one backoff paces the retries of a failure however many Nodes
// changed meanwhile.
func (r *Reconciler) SetupWithManager(mgr ctrl.Manager) error {
	self := []reconcile.Request{{NamespacedName: types.NamespacedName{Name: r.Agent.cfg.NodeName}}}
	return ctrl.NewControllerManagedBy(mgr).
		Named("plinth-network-agent").
		Watches(&corev1.Node{},
			handler.EnqueueRequestsFromMapFunc(func(context.Context, client.Object) []reconcile.Request { return self }),
			builder.WithPredicates(routingChanged())).
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
