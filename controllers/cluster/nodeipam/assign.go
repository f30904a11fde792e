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
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"slices"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/log"
)

// assignPending gives blocks to the nodes without pod CIDRs, oldest first,
// and returns the names of those still without.
func (r *Reconciler) assignPending(ctx context.Context, nodes []corev1.Node) ([]string, error) {
	pending := slices.DeleteFunc(slices.Clone(nodes), func(n corev1.Node) bool {
		return len(podCIDRsOf(&n)) > 0 || n.DeletionTimestamp != nil
	})
	slices.SortFunc(pending, func(a, b corev1.Node) int {
		return cmp.Or(a.CreationTimestamp.Compare(b.CreationTimestamp.Time), cmp.Compare(a.Name, b.Name))
	})
	var unassigned []string
	var errs []error
	for i := range pending {
		err := r.assign(ctx, &pending[i])
		if apierrors.IsNotFound(err) {
			continue // deleted meanwhile; the next reconcile frees its blocks
		}
		if err != nil {
			unassigned = append(unassigned, pending[i].Name)
			if !errors.Is(err, errExhausted) {
				errs = append(errs, err)
			}
		}
	}
	return unassigned, errors.Join(errs...)
}

// assign allocates blocks for one node and writes them to it.
func (r *Reconciler) assign(ctx context.Context, node *corev1.Node) error {
	blocks, err := r.state.alloc.allocate(node.Name)
	if errors.Is(err, errExhausted) {
		if !r.state.waiting[node.Name] {
			r.state.waiting[node.Name] = true
			r.Recorder.Eventf(node, nil, corev1.EventTypeWarning, ReasonPodCIDRExhausted, eventAction,
				"No pod CIDR for the node: %v", err)
		}
		return err
	}
	if err := r.writePodCIDRs(ctx, node, blocks); err != nil {
		// The blocks stay reserved for the node: the write may have landed.
		return err
	}
	delete(r.state.waiting, node.Name)
	log.FromContext(ctx).Info("Allocated pod CIDRs", "node", node.Name, "podCIDRs", blocks)
	r.Recorder.Eventf(node, nil, corev1.EventTypeNormal, ReasonPodCIDRAllocated, eventAction, "Allocated pod CIDRs %v", blocks)
	return nil
}

// writePodCIDRs sets spec.podCIDR and spec.podCIDRs in one patch: both are
// immutable once set. The UID in the patch makes it fail on a node that was
// recreated under the same name (the UID is immutable), and no resource
// version is sent, so the node's own status updates do not conflict with it.
func (r *Reconciler) writePodCIDRs(ctx context.Context, node *corev1.Node, blocks []netip.Prefix) error {
	cidrs := make([]string, len(blocks))
	for i, b := range blocks {
		cidrs[i] = b.String()
	}
	patch, err := json.Marshal(map[string]any{
		"metadata": map[string]any{"uid": node.UID},
		"spec":     map[string]any{"podCIDR": cidrs[0], "podCIDRs": cidrs},
	})
	if err != nil {
		return fmt.Errorf("failed to encode the Node patch: %w", err)
	}
	if err := r.Client.Patch(ctx, node, client.RawPatch(types.MergePatchType, patch)); err != nil {
		return fmt.Errorf("failed to set the pod CIDRs of Node %s: %w", node.Name, err)
	}
	return nil
}
