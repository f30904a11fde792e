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
	"errors"
	"fmt"
	"maps"
	"net/netip"
	"slices"
)

// errExhausted means a pod CIDR has no free block left.
var errExhausted = errors.New("no free node block")

// allocator gives each node one block of every pod CIDR (one per IP family).
// It is not safe for concurrent use: the reconciler is its only user and
// runs one reconcile at a time.
type allocator struct {
	sets []*cidrSet
	// nodes holds, per node, its blocks inside the pod CIDRs: the ones
	// allocated here and the ones found on the Node.
	nodes map[string][]netip.Prefix
}

// occupation is what occupy found wrong with a node's existing CIDRs.
type occupation struct {
	// outside are the CIDRs that lie in none of the pod CIDRs.
	outside []netip.Prefix
	// sharedWith are the other nodes holding an overlapping block.
	sharedWith []string
}

// usage counts the blocks of one pod CIDR.
type usage struct {
	podCIDR   netip.Prefix
	allocated uint64
	free      uint64
}

// newAllocator returns an allocator of the given pod CIDRs with nothing
// allocated.
func newAllocator(podCIDRs []netip.Prefix, maskIPv4, maskIPv6 int) (*allocator, error) {
	a := &allocator{nodes: map[string][]netip.Prefix{}}
	for _, p := range podCIDRs {
		mask := maskIPv6
		if p.Addr().Is4() {
			mask = maskIPv4
		}
		set, err := newCIDRSet(p, mask)
		if err != nil {
			return nil, fmt.Errorf("failed to create allocator: %w", err)
		}
		a.sets = append(a.sets, set)
	}
	return a, nil
}

// occupy records the CIDRs a node already has, replacing whatever was known
// of the node. CIDRs that overlap another node's blocks are recorded too: the
// overlap is reported, and its blocks stay taken either way.
func (a *allocator) occupy(node string, cidrs []netip.Prefix) occupation {
	a.release(node)
	var occ occupation
	for _, c := range cidrs {
		set, sp, ok := a.locate(c)
		if !ok {
			occ.outside = append(occ.outside, c)
			continue
		}
		sp.node = node
		occ.sharedWith = append(occ.sharedWith, set.add(sp)...)
		a.nodes[node] = append(a.nodes[node], c)
	}
	slices.Sort(occ.sharedWith)
	occ.sharedWith = slices.Compact(occ.sharedWith)
	return occ
}

// locate returns the set holding c and the blocks c overlaps.
func (a *allocator) locate(c netip.Prefix) (*cidrSet, span, bool) {
	for _, set := range a.sets {
		if sp, ok := set.spanOf(c); ok {
			return set, sp, true
		}
	}
	return nil, span{}, false
}

// allocate returns a block of every pod CIDR for node: the ones it already
// holds when it holds a full set, else the lowest free ones. Nothing is
// taken when any pod CIDR is exhausted.
func (a *allocator) allocate(node string) ([]netip.Prefix, error) {
	if held := a.nodes[node]; len(held) == len(a.sets) {
		return slices.Clone(held), nil
	}
	a.release(node)
	firsts := make([]uint64, len(a.sets))
	for i, set := range a.sets {
		first, ok := set.firstFree()
		if !ok {
			return nil, fmt.Errorf("failed to allocate from %s: %w", set.base, errExhausted)
		}
		firsts[i] = first
	}
	blocks := make([]netip.Prefix, len(a.sets))
	for i, set := range a.sets {
		set.add(span{first: firsts[i], count: 1, node: node})
		blocks[i] = set.block(firsts[i])
	}
	a.nodes[node] = blocks
	return slices.Clone(blocks), nil
}

// release frees every block of node.
func (a *allocator) release(node string) {
	for _, set := range a.sets {
		set.release(node)
	}
	delete(a.nodes, node)
}

// blocks returns the blocks of node.
func (a *allocator) blocks(node string) []netip.Prefix {
	return slices.Clone(a.nodes[node])
}

// nodeNames returns the nodes holding blocks, sorted.
func (a *allocator) nodeNames() []string {
	return slices.Sorted(maps.Keys(a.nodes))
}

// usage returns the allocated and free blocks of every pod CIDR.
func (a *allocator) usage() []usage {
	out := make([]usage, 0, len(a.sets))
	for _, set := range a.sets {
		used := set.allocated()
		out = append(out, usage{podCIDR: set.base, allocated: used, free: set.size - used})
	}
	return out
}
