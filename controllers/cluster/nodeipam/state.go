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
	"fmt"
	"maps"
	"net/netip"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/log"

	networkv1alpha1 "github.com/plinth-dev/plinth/apis/network/v1alpha1"
)

// ensureState rebuilds the allocator from the Nodes on the API server when
// there is none yet (at start) or the spec changed (the ClusterNetwork was
// recreated).
func (r *Reconciler) ensureState(ctx context.Context, cn *networkv1alpha1.ClusterNetwork) error {
	key := specKey(&cn.Spec)
	if r.state != nil && r.state.key == key {
		return nil
	}
	alloc, err := allocatorFor(&cn.Spec)
	if err != nil {
		return err
	}
	nodes, err := listNodes(ctx, r.APIReader)
	if err != nil {
		return err
	}
	r.state = &state{key: key, alloc: alloc, seen: map[string]string{}, waiting: map[string]bool{}}
	r.observe(ctx, nodes)
	log.FromContext(ctx).Info("Rebuilt the pod CIDR allocator from the Nodes",
		"podCIDRs", cn.Spec.PodCIDRs, "nodes", len(nodes), "nodesWithBlocks", len(alloc.nodes))
	return nil
}

// specKey identifies what the allocator depends on in a spec.
func specKey(spec *networkv1alpha1.ClusterNetworkSpec) string {
	return fmt.Sprintf("%v/%d/%d", spec.PodCIDRs, spec.NodeMaskSize.IPv4, spec.NodeMaskSize.IPv6)
}

// allocatorFor returns an empty allocator of the spec's pod CIDRs.
func allocatorFor(spec *networkv1alpha1.ClusterNetworkSpec) (*allocator, error) {
	prefixes, err := parsePrefixes(spec.PodCIDRs)
	if err != nil {
		return nil, fmt.Errorf("failed to parse the ClusterNetwork pod CIDRs: %w", err)
	}
	maskIPv4 := int(cmp.Or(spec.NodeMaskSize.IPv4, 24))
	maskIPv6 := int(cmp.Or(spec.NodeMaskSize.IPv6, 64))
	return newAllocator(prefixes, maskIPv4, maskIPv6)
}

// listNodes lists every Node through reader.
func listNodes(ctx context.Context, reader client.Reader) ([]corev1.Node, error) {
	list := &corev1.NodeList{}
	if err := reader.List(ctx, list); err != nil {
		return nil, fmt.Errorf("failed to list Nodes: %w", err)
	}
	return list.Items, nil
}

// forgetDeleted frees the blocks of the nodes that are gone. A node missing
// from the cache is looked up on the API server first: the cache may not
// have caught up with a node that was just created.
func (r *Reconciler) forgetDeleted(ctx context.Context, nodes []corev1.Node) error {
	present := make(map[string]bool, len(nodes))
	for i := range nodes {
		present[nodes[i].Name] = true
	}
	known := append(r.state.alloc.nodeNames(), slices.Collect(maps.Keys(r.state.seen))...)
	known = append(known, slices.Collect(maps.Keys(r.state.waiting))...)
	for _, name := range known {
		if present[name] {
			continue
		}
		gone, err := r.nodeGone(ctx, name)
		if err != nil {
			return err
		}
		if gone {
			r.forget(ctx, name)
		}
		present[name] = true // looked at once is enough
	}
	return nil
}

// nodeGone reports whether the API server no longer has the Node.
func (r *Reconciler) nodeGone(ctx context.Context, name string) (bool, error) {
	err := r.APIReader.Get(ctx, client.ObjectKey{Name: name}, &corev1.Node{})
	if apierrors.IsNotFound(err) {
		return true, nil
	}
	if err != nil {
		return false, fmt.Errorf("failed to get Node %s: %w", name, err)
	}
	return false, nil
}

// forget frees a deleted node's blocks.
func (r *Reconciler) forget(ctx context.Context, name string) {
	if blocks := r.state.alloc.blocks(name); len(blocks) > 0 {
		log.FromContext(ctx).Info("Freed the pod CIDRs of a deleted Node", "node", name, "podCIDRs", blocks)
	}
	r.state.alloc.release(name)
	delete(r.state.seen, name)
	delete(r.state.waiting, name)
}

// observe records the pod CIDRs the nodes already have, and warns about the
// ones outside the pod CIDRs or overlapping another node's.
func (r *Reconciler) observe(ctx context.Context, nodes []corev1.Node) {
	for i := range nodes {
		node := &nodes[i]
		cidrs := podCIDRsOf(node)
		key := strings.Join(cidrs, ",")
		if len(cidrs) == 0 || r.state.seen[node.Name] == key {
			continue
		}
		r.state.seen[node.Name] = key
		delete(r.state.waiting, node.Name)
		prefixes, err := parsePrefixes(cidrs)
		if err != nil {
			log.FromContext(ctx).Error(err, "Ignoring a Node's unparsable pod CIDRs", "node", node.Name)
			continue
		}
		r.warn(node, r.state.alloc.occupy(node.Name, prefixes))
	}
}

// warn emits the Warnings about a node's existing CIDRs.
func (r *Reconciler) warn(node *corev1.Node, occ occupation) {
	if len(occ.outside) > 0 {
		r.Recorder.Eventf(node, nil, corev1.EventTypeWarning, ReasonPodCIDROutsideRange, eventAction,
			"Pod CIDRs %v lie outside the ClusterNetwork's pod CIDRs; leaving the node alone", occ.outside)
	}
	if len(occ.sharedWith) > 0 {
		r.Recorder.Eventf(node, nil, corev1.EventTypeWarning, ReasonPodCIDRConflict, eventAction,
			"Pod CIDRs %v overlap the blocks of nodes %v", podCIDRsOf(node), occ.sharedWith)
	}
}

// podCIDRsOf returns a node's pod CIDRs, from the older single field when
// the list is empty.
func podCIDRsOf(node *corev1.Node) []string {
	if len(node.Spec.PodCIDRs) > 0 {
		return node.Spec.PodCIDRs
	}
	if node.Spec.PodCIDR != "" {
		return []string{node.Spec.PodCIDR}
	}
	return nil
}

// parsePrefixes parses CIDR strings.
func parsePrefixes(cidrs []string) ([]netip.Prefix, error) {
	prefixes := make([]netip.Prefix, 0, len(cidrs))
	for _, c := range cidrs {
		p, err := netip.ParsePrefix(c)
		if err != nil {
			return nil, fmt.Errorf("failed to parse CIDR: %w", err)
		}
		prefixes = append(prefixes, p)
	}
	return prefixes, nil
}
