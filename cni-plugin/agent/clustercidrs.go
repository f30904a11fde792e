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
	"net/netip"
	"slices"

	corev1 "k8s.io/api/core/v1"
)

// CIDRSource says where the cluster CIDRs come from.
type CIDRSource string

// The sources of the cluster CIDRs, in the order they are consulted.
const (
	// CIDRSourceClusterNetwork is spec.podCIDRs of the ClusterNetwork "default".
	CIDRSourceClusterNetwork CIDRSource = "ClusterNetwork"
	// CIDRSourceFlag is plinth-node's --cluster-cidrs.
	CIDRSourceFlag CIDRSource = "flag"
	// CIDRSourceKubeadm is networking.podSubnet of kubeadm's
	// ClusterConfiguration (ConfigMap kube-system/kubeadm-config).
	CIDRSourceKubeadm CIDRSource = "kubeadm-config"
	// CIDRSourceNodes is the union of every Node's spec.podCIDRs, which
	// changes as Nodes come and go.
	CIDRSourceNodes CIDRSource = "Nodes"
)

// ClusterCIDRs returns the cluster's pod CIDRs and where they come from: the
// configured ones, or else the union of the pod CIDRs of nodes that the
// agent accepts (this node's and its peers', see viewOf).
func (a *Agent) ClusterCIDRs(nodes []corev1.Node) ([]netip.Prefix, CIDRSource) {
	return a.clusterCIDRsOf(a.viewOf(nodes))
}

func (a *Agent) clusterCIDRsOf(v view) ([]netip.Prefix, CIDRSource) {
	if len(a.clusterCIDRs) > 0 {
		return a.clusterCIDRs, a.cfg.ClusterCIDRSource
	}
	return outermost(v.podCIDRs), CIDRSourceNodes
}

// outermost sorts prefixes and drops duplicates and those inside another,
// so that the result can fill an nftables interval set: its elements must
// not overlap.
func outermost(prefixes []netip.Prefix) []netip.Prefix {
	sorted := slices.Clone(prefixes)
	// By address, and the shorter prefix first among equal addresses: a
	// prefix that contains later ones then always comes before them.
	slices.SortFunc(sorted, func(a, b netip.Prefix) int {
		if c := a.Addr().Compare(b.Addr()); c != 0 {
			return c
		}
		return a.Bits() - b.Bits()
	})
	out := make([]netip.Prefix, 0, len(sorted))
	for _, p := range sorted {
		if n := len(out); n > 0 && out[n-1].Contains(p.Addr()) && out[n-1].Bits() <= p.Bits() {
			continue
		}
		out = append(out, p)
	}
	return out
}
