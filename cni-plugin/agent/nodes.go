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
	"time"

	corev1 "k8s.io/api/core/v1"
)

// nodeInfo is what the agent needs to know about a Node.
type nodeInfo struct {
	name       string
	podCIDRs   []netip.Prefix
	internalIP netip.Addr
	internalV6 netip.Addr
	deleting   bool
	// created orders Nodes that claim the same pod CIDRs or addresses.
	created time.Time
}

// underlayFor returns the peer's InternalIP of the pod CIDR's family, which
// a direct route needs as its next hop.
func (n nodeInfo) underlayFor(p netip.Prefix) (netip.Addr, bool) {
	for _, ip := range []netip.Addr{n.internalIP, n.internalV6} {
		if ip.IsValid() && ip.Is4() == p.Addr().Is4() {
			return ip, true
		}
	}
	return netip.Addr{}, false
}

func toInfo(n *corev1.Node) nodeInfo {
	info := nodeInfo{name: n.Name, created: n.CreationTimestamp.Time}
	cidrs := n.Spec.PodCIDRs
	if len(cidrs) == 0 && n.Spec.PodCIDR != "" {
		cidrs = []string{n.Spec.PodCIDR}
	}
	for _, c := range cidrs {
		if p, err := netip.ParsePrefix(c); err == nil {
			info.podCIDRs = append(info.podCIDRs, p.Masked())
		}
	}
	for _, a := range n.Status.Addresses {
		if a.Type != corev1.NodeInternalIP {
			continue
		}
		ip, err := netip.ParseAddr(a.Address)
		switch {
		case err != nil:
		case ip.Is4() && !info.internalIP.IsValid():
			info.internalIP = ip
		case ip.Is6() && !info.internalV6.IsValid():
			info.internalV6 = ip
		}
	}
	if !info.internalIP.IsValid() {
		info.internalIP = info.internalV6
	}
	return info
}
