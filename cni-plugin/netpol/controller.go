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

package netpol

import (
	"context"
	"fmt"
	"reflect"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/events"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
	"sigs.k8s.io/controller-runtime/pkg/source"
)

// ReasonNotEnforced is the reason of the Warning Event on a NetworkPolicy
// part of which the node cannot enforce.
const ReasonNotEnforced = "NetworkPolicyNotEnforced"

// resyncPeriod re-applies the rules without events, repairing what
// something else changed in the table.
const resyncPeriod = 5 * time.Minute

// notReadyRetry is how often a controller whose node is not ready checks
// again.
const notReadyRetry = 5 * time.Second

// Controller keeps the node's NetworkPolicy rules in step with the
// cluster's policies, pods and namespaces. Every event enqueues the same
// request: the controller compiles the whole state and the engine commits
// only what changed, so a burst of events costs one transaction.
type Controller struct {
	// NodeName is the node whose pods are filtered.
	NodeName string
	// Engine programs the rules; nil opens the agent's table on first use.
	Engine *Engine
	// Reader reads policies, pods and namespaces; SetupWithManager makes a
	// cache of its own for it.
	Reader client.Reader
	// Recorder, when set, receives the Events on policies.
	Recorder events.EventRecorder
	// Ready, when set, holds programming back until it returns true:
	// plinth-node waits for the agent's state file, so that nothing is
	// programmed on a node whose pod network is not set up.
	Ready func() bool

	mu       sync.Mutex
	reported map[types.NamespacedName]string
}

// +kubebuilder:rbac:groups=networking.k8s.io,resources=networkpolicies,verbs=get;list;watch
// +kubebuilder:rbac:groups="",resources=pods;namespaces,verbs=get;list;watch
// +kubebuilder:rbac:groups=events.k8s.io,resources=events,verbs=create;patch

// Reconcile compiles the cluster's state and programs it.
func (c *Controller) Reconcile(ctx context.Context, _ ctrl.Request) (ctrl.Result, error) {
	if c.Ready != nil && !c.Ready() {
		return ctrl.Result{RequeueAfter: notReadyRetry}, nil
	}
	in, err := c.read(ctx)
	if err != nil {
		return ctrl.Result{}, err
	}
	prog := Compile(in)
	engine, err := c.engine()
	if err != nil {
		return ctrl.Result{}, err
	}
	stats, err := engine.Apply(ctx, prog)
	if err != nil {
		return ctrl.Result{}, err
	}
	log.FromContext(ctx).V(1).Info("network policy programmed", "pods", len(prog.Pods), "rules", stats.Rules,
		"elements", stats.Elements, "operations", stats.Operations)
	c.report(ctx, in.Policies, prog.Problems)
	return ctrl.Result{RequeueAfter: resyncPeriod}, nil
}

func (c *Controller) engine() (*Engine, error) {
	if c.Engine == nil {
		e, err := Open(DefaultTable, DefaultVethPrefix)
		if err != nil {
			return nil, err
		}
		c.Engine = e
	}
	return c.Engine, nil
}

func (c *Controller) read(ctx context.Context) (Input, error) {
	var pols networkingv1.NetworkPolicyList
	var pods corev1.PodList
	var nss corev1.NamespaceList
	for _, l := range []client.ObjectList{&pols, &pods, &nss} {
		if err := c.Reader.List(ctx, l); err != nil {
			return Input{}, fmt.Errorf("failed to list %T: %w", l, err)
		}
	}
	return Input{NodeName: c.NodeName, Policies: pols.Items, Pods: pods.Items, Namespaces: nss.Items}, nil
}

// report sends a Warning Event on each policy whose problems changed since
// the last report, and sets the problem gauge.
func (c *Controller) report(ctx context.Context, pols []networkingv1.NetworkPolicy, problems []Problem) {
	c.mu.Lock()
	defer c.mu.Unlock()
	policyProblems.Set(float64(len(problems)))
	now := map[types.NamespacedName]string{}
	for _, p := range problems {
		if now[p.Policy] != "" {
			now[p.Policy] += "; "
		}
		now[p.Policy] += p.Reason
	}
	for i := range pols {
		key := types.NamespacedName{Namespace: pols[i].Namespace, Name: pols[i].Name}
		msg := now[key]
		if msg == "" || c.reported[key] == msg {
			continue
		}
		log.FromContext(ctx).Info("network policy not fully enforced", "policy", key, "problems", msg)
		if c.Recorder != nil {
			c.Recorder.Eventf(&pols[i], nil, corev1.EventTypeWarning, ReasonNotEnforced, "Enforce",
				"node %s cannot enforce part of the policy, whose traffic stays denied: %s", c.NodeName, msg)
		}
	}
	c.reported = now
}

// SetupWithManager registers the controller with a cache of its own for
// every pod (stripped to what the compiler reads), namespace and policy.
// It needs no API server.
func (c *Controller) SetupWithManager(mgr ctrl.Manager) error {
	// A static mapper: setting up must not need the API server.
	mapper := meta.NewDefaultRESTMapper(nil)
	mapper.Add(corev1.SchemeGroupVersion.WithKind("Pod"), meta.RESTScopeNamespace)
	mapper.Add(corev1.SchemeGroupVersion.WithKind("Namespace"), meta.RESTScopeRoot)
	mapper.Add(networkingv1.SchemeGroupVersion.WithKind("NetworkPolicy"), meta.RESTScopeNamespace)
	objs, err := cache.New(mgr.GetConfig(), cache.Options{
		Scheme: mgr.GetScheme(), Mapper: mapper,
		ByObject:         map[client.Object]cache.ByObject{&corev1.Pod{}: {Transform: slimPod}},
		DefaultTransform: cache.TransformStripManagedFields(),
	})
	if err != nil {
		return fmt.Errorf("failed to create the network policy cache: %w", err)
	}
	if err := mgr.Add(objs); err != nil {
		return fmt.Errorf("failed to add the network policy cache: %w", err)
	}
	c.Reader = objs
	self := []reconcile.Request{{NamespacedName: types.NamespacedName{Name: c.NodeName}}}
	enqueue := handler.EnqueueRequestsFromMapFunc(func(context.Context, client.Object) []reconcile.Request { return self })
	return ctrl.NewControllerManagedBy(mgr).
		Named("plinth-network-policy").
		WatchesRawSource(source.Kind(objs, client.Object(&networkingv1.NetworkPolicy{}), enqueue)).
		WatchesRawSource(source.Kind(objs, client.Object(&corev1.Namespace{}), enqueue, labelsChanged())).
		WatchesRawSource(source.Kind(objs, client.Object(&corev1.Pod{}), enqueue, podChanged())).
		WithOptions(controller.Options{MaxConcurrentReconciles: 1}).
		Complete(c)
}

// slimPod keeps what the compiler reads of a pod.
func slimPod(obj any) (any, error) {
	pod, ok := obj.(*corev1.Pod)
	if !ok {
		return obj, nil
	}
	slim := &corev1.Pod{TypeMeta: pod.TypeMeta}
	slim.Name, slim.Namespace, slim.UID = pod.Name, pod.Namespace, pod.UID
	slim.Labels, slim.ResourceVersion, slim.DeletionTimestamp = pod.Labels, pod.ResourceVersion, pod.DeletionTimestamp
	slim.Spec.NodeName, slim.Spec.HostNetwork = pod.Spec.NodeName, pod.Spec.HostNetwork
	slim.Spec.Containers = slimContainers(pod.Spec.Containers)
	slim.Spec.InitContainers = slimContainers(pod.Spec.InitContainers)
	slim.Status.Phase, slim.Status.PodIP, slim.Status.PodIPs = pod.Status.Phase, pod.Status.PodIP, pod.Status.PodIPs
	return slim, nil
}

func slimContainers(cs []corev1.Container) []corev1.Container {
	var out []corev1.Container
	for _, c := range cs {
		if len(c.Ports) > 0 {
			out = append(out, corev1.Container{Name: c.Name, Ports: c.Ports})
		}
	}
	return out
}

// podChanged ignores pod updates that change nothing the compiler reads,
// such as readiness conditions.
func podChanged() predicate.TypedFuncs[client.Object] {
	return predicate.TypedFuncs[client.Object]{UpdateFunc: func(e event.TypedUpdateEvent[client.Object]) bool {
		a, b := podFacts(e.ObjectOld), podFacts(e.ObjectNew)
		return !reflect.DeepEqual(a, b)
	}}
}

func podFacts(obj client.Object) any {
	slim, _ := slimPod(obj)
	pod, ok := slim.(*corev1.Pod)
	if !ok {
		return obj
	}
	pod.ResourceVersion, pod.DeletionTimestamp = "", nil
	return pod
}

// labelsChanged passes namespace updates that change labels.
func labelsChanged() predicate.TypedFuncs[client.Object] {
	return predicate.TypedFuncs[client.Object]{UpdateFunc: func(e event.TypedUpdateEvent[client.Object]) bool {
		a, errA := meta.Accessor(e.ObjectOld)
		b, errB := meta.Accessor(e.ObjectNew)
		return errA != nil || errB != nil || !reflect.DeepEqual(a.GetLabels(), b.GetLabels())
	}}
}
