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
	"fmt"
	"maps"
	"math"
	"slices"
	"strings"

	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	networkv1alpha1 "github.com/plinth-dev/plinth/apis/network/v1alpha1"
)

// Reasons of the ClusterNetwork conditions.
const (
	// ReasonAllNodesAllocated: every node has pod CIDRs.
	ReasonAllNodesAllocated = "AllNodesAllocated"
	// ReasonAllocationPending: some nodes have no pod CIDRs yet.
	ReasonAllocationPending = "AllocationPending"
	// ReasonPodCIDRsExhausted: some nodes cannot get a block.
	ReasonPodCIDRsExhausted = "PodCIDRsExhausted"
	// ReasonBlocksAvailable: every node that asked for a block got one.
	ReasonBlocksAvailable = "BlocksAvailable"
)

// maxNamesInMessage bounds the node names a condition message lists.
const maxNamesInMessage = 10

// updateStatus writes the allocations, block counts and conditions to the
// ClusterNetwork when they changed. unassigned are the nodes still without
// pod CIDRs.
func (r *Reconciler) updateStatus(ctx context.Context, cn *networkv1alpha1.ClusterNetwork, unassigned []string) error {
	status := cn.Status.DeepCopy()
	status.ObservedGeneration = cn.Generation
	status.Allocations = r.allocations()
	status.Blocks = r.blockUsage()
	r.setConditions(status, cn.Generation, unassigned)
	if equality.Semantic.DeepEqual(status, &cn.Status) {
		return nil
	}
	base := cn.DeepCopy()
	cn.Status = *status
	if err := r.Client.Status().Patch(ctx, cn, client.MergeFrom(base)); err != nil {
		return fmt.Errorf("failed to update the ClusterNetwork status: %w", err)
	}
	return nil
}

// allocations lists every node's blocks, by node name.
func (r *Reconciler) allocations() []networkv1alpha1.NodeBlock {
	names := r.state.alloc.nodeNames()
	out := make([]networkv1alpha1.NodeBlock, 0, len(names))
	for _, name := range names {
		blocks := r.state.alloc.blocks(name)
		cidrs := make([]string, len(blocks))
		for i, b := range blocks {
			cidrs[i] = b.String()
		}
		out = append(out, networkv1alpha1.NodeBlock{NodeName: name, PodCIDRs: cidrs})
	}
	return out
}

// blockUsage counts the allocated and free blocks of every pod CIDR.
func (r *Reconciler) blockUsage() []networkv1alpha1.BlockUsage {
	usages := r.state.alloc.usage()
	out := make([]networkv1alpha1.BlockUsage, 0, len(usages))
	for _, u := range usages {
		out = append(out, networkv1alpha1.BlockUsage{
			PodCIDR: u.podCIDR.String(), Allocated: toInt64(u.allocated), Free: toInt64(u.free),
		})
	}
	return out
}

// toInt64 converts a block count; counts never exceed 2^62.
func toInt64(n uint64) int64 {
	return int64(min(n, math.MaxInt64))
}

// setConditions sets Ready and Exhausted.
func (r *Reconciler) setConditions(status *networkv1alpha1.ClusterNetworkStatus, generation int64, unassigned []string) {
	exhausted := metav1.Condition{Type: networkv1alpha1.ConditionExhausted, ObservedGeneration: generation,
		Status: metav1.ConditionFalse, Reason: ReasonBlocksAvailable, Message: "Every node that asked for a block got one"}
	ready := metav1.Condition{Type: networkv1alpha1.ConditionReady, ObservedGeneration: generation,
		Status: metav1.ConditionTrue, Reason: ReasonAllNodesAllocated, Message: "Every node has pod CIDRs"}
	if len(r.state.waiting) > 0 {
		exhausted.Status, exhausted.Reason = metav1.ConditionTrue, ReasonPodCIDRsExhausted
		exhausted.Message = "No free block for nodes " + nameList(slices.Sorted(maps.Keys(r.state.waiting)))
	}
	if len(unassigned) > 0 {
		ready.Status, ready.Reason = metav1.ConditionFalse, ReasonAllocationPending
		if exhausted.Status == metav1.ConditionTrue {
			ready.Reason = ReasonPodCIDRsExhausted
		}
		ready.Message = "Nodes without pod CIDRs: " + nameList(unassigned)
	}
	meta.SetStatusCondition(&status.Conditions, ready)
	meta.SetStatusCondition(&status.Conditions, exhausted)
}

// nameList joins node names for a message, at most maxNamesInMessage.
func nameList(names []string) string {
	if len(names) <= maxNamesInMessage {
		return strings.Join(names, ", ")
	}
	return fmt.Sprintf("%s and %d more", strings.Join(names[:maxNamesInMessage], ", "), len(names)-maxNamesInMessage)
}
