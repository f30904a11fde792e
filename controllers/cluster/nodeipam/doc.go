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

// Package nodeipam allocates Node.spec.podCIDRs from the cluster's
// ClusterNetwork, for clusters whose kube-controller-manager does not
// allocate them itself (--allocate-node-cidrs=false). Run one or the other:
// both writing pod CIDRs from overlapping ranges is not supported.
//
// Each node gets one block per pod CIDR (so one per IP family, two for
// dual-stack), of the size the ClusterNetwork's nodeMaskSize gives, the
// lowest free one first. spec.podCIDR and spec.podCIDRs are written in one
// patch because Kubernetes makes them immutable once set.
//
// The Nodes are the source of truth. At start (and whenever the
// ClusterNetwork is recreated) the allocator is rebuilt from a list read
// straight from the API server, and every block a node already has counts
// as taken, whoever set it, so a block is never handed out twice. A node
// whose existing CIDR lies outside the pod CIDRs, or overlaps another node's
// block, gets a Warning Event and is left alone. A deleted node's blocks are
// freed once the API server confirms the deletion.
//
// Every Node and ClusterNetwork event is reconciled under the single key of
// the ClusterNetwork, so reconciles never overlap and in-memory
// reservations (made before a node's patch is written, kept until the node
// is deleted) cover the window in which the cache has not yet seen a write.
//
// When a pod CIDR has no free block, the node waiting for it gets a Warning
// Event and the ClusterNetwork the Exhausted condition; Ready is true when
// every node has pod CIDRs. The status also lists each node's blocks and,
// per pod CIDR, how many blocks are allocated and free.
package nodeipam
