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

package controlplane

import (
	"context"
	"fmt"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	logf "sigs.k8s.io/controller-runtime/pkg/log"
)

const (
	nodeLeaseNamespace   = "kube-node-lease"
	nodeLeaseDuration    = 40 // seconds, as a kubelet sets it
	simulatedIPPrefix    = "127.0.1."
	simulatedKubeletPort = 10250
)

// AddNode registers a simulated Node: labels, addresses, capacity and a Ready
// condition, kept fresh by the heartbeat from then on.
func (cp *ControlPlane) AddNode(ctx context.Context, spec NodeSpec) error {
	resources, err := spec.resources()
	if err != nil {
		return err
	}
	if spec.InternalIP == "" {
		spec.InternalIP = cp.nextSimulatedIP()
	}
	node := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: spec.Name, Labels: spec.labels()}}
	if err := cp.Client.Create(ctx, node); err != nil {
		return fmt.Errorf("failed to create node %s: %w", spec.Name, err)
	}
	// A merge patch, not an update: kube-controller-manager may already be
	// writing the node (pod CIDR, taints).
	base := node.DeepCopy()
	node.Status = cp.nodeStatus(spec, resources)
	if err := cp.Client.Status().Patch(ctx, node, client.MergeFrom(base)); err != nil {
		return fmt.Errorf("failed to set status of node %s: %w", spec.Name, err)
	}
	if err := cp.renewLease(ctx, spec.Name); err != nil {
		return err
	}
	cp.heartbeatMu.Lock()
	cp.nodes = append(cp.nodes, spec)
	cp.heartbeatMu.Unlock()
	return nil
}

// nextSimulatedIP hands out loopback addresses to nodes that name none:
// nothing dials them, but every node needs a distinct InternalIP.
func (cp *ControlPlane) nextSimulatedIP() string {
	cp.heartbeatMu.Lock()
	defer cp.heartbeatMu.Unlock()
	cp.simulatedIPs++
	return fmt.Sprintf("%s%d", simulatedIPPrefix, cp.simulatedIPs)
}

func (cp *ControlPlane) nodeStatus(spec NodeSpec, resources corev1.ResourceList) corev1.NodeStatus {
	return corev1.NodeStatus{
		Capacity:    resources,
		Allocatable: resources,
		Conditions:  nodeConditions(metav1.Now()),
		Addresses: []corev1.NodeAddress{
			{Type: corev1.NodeInternalIP, Address: spec.InternalIP},
			{Type: corev1.NodeHostName, Address: spec.Name},
		},
		DaemonEndpoints: corev1.NodeDaemonEndpoints{KubeletEndpoint: corev1.DaemonEndpoint{Port: simulatedKubeletPort}},
		NodeInfo: corev1.NodeSystemInfo{
			KubeletVersion:          cp.kubernetesVersion(),
			OperatingSystem:         "linux",
			Architecture:            "amd64",
			ContainerRuntimeVersion: "simulated://0",
		},
	}
}

// nodeConditions returns the conditions of a healthy node heartbeating at now.
func nodeConditions(now metav1.Time) []corev1.NodeCondition {
	cond := func(t corev1.NodeConditionType, s corev1.ConditionStatus, reason string) corev1.NodeCondition {
		return corev1.NodeCondition{Type: t, Status: s, Reason: reason, LastHeartbeatTime: now, LastTransitionTime: now}
	}
	return []corev1.NodeCondition{
		cond(corev1.NodeReady, corev1.ConditionTrue, "KubeletReady"),
		cond(corev1.NodeMemoryPressure, corev1.ConditionFalse, "KubeletHasSufficientMemory"),
		cond(corev1.NodeDiskPressure, corev1.ConditionFalse, "KubeletHasNoDiskPressure"),
		cond(corev1.NodePIDPressure, corev1.ConditionFalse, "KubeletHasSufficientPID"),
	}
}

// kubernetesVersion reads the API server's version, which simulated nodes
// report as their kubelet version.
func (cp *ControlPlane) kubernetesVersion() string {
	info, err := cp.Clientset.Discovery().ServerVersion()
	if err != nil {
		return "v0.0.0"
	}
	return info.GitVersion
}

// renewLease creates or renews the node's Lease, the heartbeat the node
// lifecycle controller reads.
func (cp *ControlPlane) renewLease(ctx context.Context, name string) error {
	now := metav1.NewMicroTime(time.Now())
	lease := &coordinationv1.Lease{}
	err := cp.Client.Get(ctx, client.ObjectKey{Namespace: nodeLeaseNamespace, Name: name}, lease)
	if apierrors.IsNotFound(err) {
		lease = &coordinationv1.Lease{
			ObjectMeta: metav1.ObjectMeta{Namespace: nodeLeaseNamespace, Name: name},
			Spec: coordinationv1.LeaseSpec{
				HolderIdentity:       ptr.To(name),
				LeaseDurationSeconds: ptr.To[int32](nodeLeaseDuration),
				RenewTime:            &now,
			},
		}
		if err := cp.Client.Create(ctx, lease); err != nil {
			return fmt.Errorf("failed to create lease of node %s: %w", name, err)
		}
		return nil
	}
	if err != nil {
		return fmt.Errorf("failed to get lease of node %s: %w", name, err)
	}
	lease.Spec.RenewTime = &now
	if err := cp.Client.Update(ctx, lease); err != nil {
		return fmt.Errorf("failed to renew lease of node %s: %w", name, err)
	}
	return nil
}

// refreshConditions reports the node healthy again, as a kubelet's status
// update does.
func (cp *ControlPlane) refreshConditions(ctx context.Context, name string) error {
	node := &corev1.Node{}
	if err := cp.Client.Get(ctx, client.ObjectKey{Name: name}, node); err != nil {
		return fmt.Errorf("failed to get node %s: %w", name, err)
	}
	base := node.DeepCopy()
	node.Status.Conditions = nodeConditions(metav1.Now())
	if err := cp.Client.Status().Patch(ctx, node, client.MergeFrom(base)); err != nil {
		return fmt.Errorf("failed to refresh conditions of node %s: %w", name, err)
	}
	return nil
}

// startHeartbeat keeps every simulated node's Lease and conditions fresh,
// as a kubelet does, until Stop.
func (cp *ControlPlane) startHeartbeat() {
	ctx, cancel := context.WithCancel(context.Background())
	cp.stopBeat, cp.beatDone = cancel, make(chan struct{})
	go func() {
		defer close(cp.beatDone)
		wait.UntilWithContext(ctx, cp.beat, cp.opts.HeartbeatInterval)
	}()
}

func (cp *ControlPlane) beat(ctx context.Context) {
	cp.heartbeatMu.Lock()
	nodes := append([]NodeSpec(nil), cp.nodes...)
	cp.heartbeatMu.Unlock()
	for _, n := range nodes {
		if err := cp.renewLease(ctx, n.Name); err != nil && ctx.Err() == nil {
			logf.FromContext(ctx).Error(err, "Heartbeat failed", "node", n.Name)
		}
		if err := cp.refreshConditions(ctx, n.Name); err != nil && ctx.Err() == nil && !apierrors.IsNotFound(err) {
			logf.FromContext(ctx).Error(err, "Heartbeat failed", "node", n.Name)
		}
	}
}

func (cp *ControlPlane) stopHeartbeat() {
	if cp.stopBeat == nil {
		return
	}
	cp.stopBeat()
	<-cp.beatDone
	cp.stopBeat = nil
}

// WaitForNodesReady waits until every registered node is Ready, carries no
// not-ready taint and, when node CIDR allocation is on, has its pod CIDRs.
func (cp *ControlPlane) WaitForNodesReady(ctx context.Context, timeout time.Duration) error {
	cp.heartbeatMu.Lock()
	nodes := append([]NodeSpec(nil), cp.nodes...)
	cp.heartbeatMu.Unlock()
	var last string
	err := wait.PollUntilContextTimeout(ctx, 200*time.Millisecond, timeout, true, func(ctx context.Context) (bool, error) {
		for _, spec := range nodes {
			node := &corev1.Node{}
			if err := cp.Client.Get(ctx, client.ObjectKey{Name: spec.Name}, node); err != nil {
				last = err.Error()
				return false, nil
			}
			if why := cp.notReadyReason(node); why != "" {
				last = spec.Name + ": " + why
				return false, nil
			}
		}
		return true, nil
	})
	if err != nil {
		return fmt.Errorf("nodes not ready (last: %s): %w", last, err)
	}
	return nil
}

// notReadyReason says why a node cannot take pods yet, or "" when it can.
func (cp *ControlPlane) notReadyReason(node *corev1.Node) string {
	ready := false
	for _, c := range node.Status.Conditions {
		if c.Type == corev1.NodeReady && c.Status == corev1.ConditionTrue {
			ready = true
		}
	}
	if !ready {
		return "Ready condition is not True"
	}
	for _, taint := range node.Spec.Taints {
		if taint.Key == corev1.TaintNodeNotReady || taint.Key == corev1.TaintNodeUnreachable {
			return "tainted " + taint.Key
		}
	}
	if *cp.opts.AllocateNodeCIDRs && len(node.Spec.PodCIDRs) == 0 {
		return "no pod CIDR allocated yet"
	}
	return ""
}
