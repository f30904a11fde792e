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
	"fmt"
	"slices"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/component-helpers/storage/volume"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	logf "sigs.k8s.io/controller-runtime/pkg/log"

	"github.com/plinth-dev/plinth/internal/objpatch"
	"github.com/plinth-dev/plinth/internal/storageclass"
	"github.com/plinth-dev/plinth/internal/wellknown"
)

// immediateClass returns the claim's class when it is an Immediate class of
// this driver, and nil otherwise.
func (p *Picker) immediateClass(ctx context.Context, pvc *corev1.PersistentVolumeClaim) (*storagev1.StorageClass, error) {
	class := &storagev1.StorageClass{}
	if err := p.Client.Get(ctx, client.ObjectKey{Name: *pvc.Spec.StorageClassName}, class); err != nil {
		if apierrors.IsNotFound(err) {
			return nil, nil // the class's creation brings the claim back
		}
		return nil, fmt.Errorf("failed to get StorageClass %s: %w", *pvc.Spec.StorageClassName, err)
	}
	mode := class.VolumeBindingMode
	if class.Provisioner != p.DriverName || (mode != nil && *mode != storagev1.VolumeBindingImmediate) {
		return nil, nil
	}
	return class, nil
}

// candidate is a node that can take a claim's volume, with the largest
// capacity its CSIStorageCapacities offer the class.
type candidate struct {
	node string
	free resource.Quantity
}

// pick reads the nodes and the class's capacities and chooses among them.
func (p *Picker) pick(ctx context.Context, pvc *corev1.PersistentVolumeClaim, class *storagev1.StorageClass) (candidate, error) {
	nodes := &corev1.NodeList{}
	if err := p.Client.List(ctx, nodes); err != nil {
		return candidate{}, fmt.Errorf("failed to list nodes: %w", err)
	}
	caps := &storagev1.CSIStorageCapacityList{}
	if err := p.Client.List(ctx, caps, client.MatchingLabels{wellknown.LabelCapacityDriverName: p.DriverName}); err != nil {
		return candidate{}, fmt.Errorf("failed to list CSIStorageCapacities: %w", err)
	}
	claims := &corev1.PersistentVolumeClaimList{}
	if err := p.Client.List(ctx, claims); err != nil {
		return candidate{}, fmt.Errorf("failed to list claims: %w", err)
	}
	reserved := p.reservations.reserved(claims.Items, p.DriverName, pvc.UID, time.Now())
	return choose(class, requestOf(pvc), nodes.Items, caps.Items, reserved)
}

// requestOf returns the storage a claim asks for.
func requestOf(pvc *corev1.PersistentVolumeClaim) resource.Quantity {
	return pvc.Spec.Resources.Requests[corev1.ResourceStorage]
}

// choose returns the allowed node with the most free capacity for a volume
// of the given size, the first by name among equals; reserved is storage
// on each node promised to claims whose volumes do not exist yet. An error
// wrapping errNoCandidate says why there is none.
func choose(class *storagev1.StorageClass, size resource.Quantity, nodes []corev1.Node, caps []storagev1.CSIStorageCapacity, reserved map[string]resource.Quantity) (candidate, error) {
	candidates, allowed := candidatesOf(class, size, nodes, offersOf(class.Name, caps), reserved)
	if allowed == 0 {
		return candidate{}, fmt.Errorf("%w: no Ready, schedulable and untainted node is allowed by the allowedTopologies of StorageClass %s",
			errNoCandidate, class.Name)
	}
	if len(candidates) == 0 {
		return candidate{}, fmt.Errorf("%w: none of the %d allowed nodes has a capacity of StorageClass %s with room for %s",
			errNoCandidate, allowed, class.Name, size.String())
	}
	slices.SortFunc(candidates, func(a, b candidate) int {
		if c := b.free.Cmp(a.free); c != 0 {
			return c
		}
		return strings.Compare(a.node, b.node)
	})
	return candidates[0], nil
}

// candidatesOf returns the nodes that can take a volume of the given size,
// and how many nodes the class allows at all.
func candidatesOf(class *storagev1.StorageClass, size resource.Quantity, nodes []corev1.Node, offers []offer, reserved map[string]resource.Quantity) ([]candidate, int) {
	allowed := 0
	var candidates []candidate
	for i := range nodes {
		node := &nodes[i]
		if !usable(node) || !storageclass.TopologyAllowed(class, node.Labels) {
			continue
		}
		allowed++
		if free, ok := largestOffer(node, offers, size, reserved[node.Name]); ok {
			candidates = append(candidates, candidate{node: node.Name, free: free})
		}
	}
	return candidates, allowed
}

// usable reports whether a node may get new volumes: Ready, schedulable,
// and without taints that keep new pods off it.
func usable(node *corev1.Node) bool {
	if node.Spec.Unschedulable || !node.DeletionTimestamp.IsZero() {
		return false
	}
	if slices.ContainsFunc(node.Spec.Taints, func(t corev1.Taint) bool {
		return t.Effect == corev1.TaintEffectNoSchedule || t.Effect == corev1.TaintEffectNoExecute
	}) {
		return false
	}
	return slices.ContainsFunc(node.Status.Conditions, func(c corev1.NodeCondition) bool {
		return c.Type == corev1.NodeReady && c.Status == corev1.ConditionTrue
	})
}

// offer is one CSIStorageCapacity of the class, with its parsed selector.
type offer struct {
	nodes    labels.Selector
	capacity *resource.Quantity
	maxSize  *resource.Quantity
}

// offersOf returns the class's capacities that name any node; an object
// without a node topology (or with an invalid one) is reachable from none.
func offersOf(className string, caps []storagev1.CSIStorageCapacity) []offer {
	var offers []offer
	for i := range caps {
		c := &caps[i]
		if c.StorageClassName != className || c.NodeTopology == nil || c.Capacity == nil {
			continue
		}
		sel, err := metav1.LabelSelectorAsSelector(c.NodeTopology)
		if err != nil || sel.Empty() {
			continue
		}
		offers = append(offers, offer{nodes: sel, capacity: c.Capacity, maxSize: c.MaximumVolumeSize})
	}
	return offers
}

// largestOffer returns the largest capacity offered to the node, less what
// is reserved there, that can hold a volume of the given size.
func largestOffer(node *corev1.Node, offers []offer, size, reserved resource.Quantity) (resource.Quantity, bool) {
	var best resource.Quantity
	found := false
	for _, o := range offers {
		free := o.capacity.DeepCopy()
		free.Sub(reserved)
		if !o.nodes.Matches(labels.Set(node.Labels)) || free.Cmp(size) < 0 {
			continue
		}
		if o.maxSize != nil && o.maxSize.Cmp(size) < 0 {
			continue
		}
		if !found || free.Cmp(best) > 0 {
			best, found = free, true
		}
	}
	return best, found
}

// noCandidate reports a claim that no node can take, and schedules the
// next attempt.
func (p *Picker) noCandidate(ctx context.Context, pvc *corev1.PersistentVolumeClaim, why error) ctrl.Result {
	backoff := p.Backoff
	if backoff <= 0 {
		backoff = DefaultBackoff
	}
	logf.FromContext(ctx).Info("No node for the claim yet", "reason", why.Error(), "retryAfter", backoff.String())
	p.Recorder.Eventf(pvc, nil, corev1.EventTypeWarning, ReasonProvisioningFailed, "SelectNode", "%s", why.Error())
	return ctrl.Result{RequeueAfter: backoff}
}

// selectNode writes the chosen node into the claim. A claim that changed
// since it was read is left alone: its update brings it back.
func (p *Picker) selectNode(ctx context.Context, pvc *corev1.PersistentVolumeClaim, chosen candidate) error {
	log := logf.FromContext(ctx)
	base := pvc.DeepCopy()
	if pvc.Annotations == nil {
		pvc.Annotations = map[string]string{}
	}
	pvc.Annotations[volume.AnnSelectedNode] = chosen.node
	err := p.Client.Patch(ctx, pvc, objpatch.LockedMerge(base))
	if apierrors.IsConflict(err) || apierrors.IsNotFound(err) {
		log.V(1).Info("Claim changed before its node was selected", "node", chosen.node)
		return nil
	}
	if err != nil {
		return fmt.Errorf("failed to select node %s: %w", chosen.node, err)
	}
	p.reservations.add(pvc.UID, chosen.node, requestOf(pvc), time.Now())
	log.Info("Selected node", "node", chosen.node, "free", chosen.free.String())
	p.Recorder.Eventf(pvc, nil, corev1.EventTypeNormal, ReasonNodeSelected, "SelectNode",
		"Selected node %s, with %s free, for the volume", chosen.node, chosen.free.String())
	return nil
}
