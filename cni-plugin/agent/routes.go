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
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"

	"github.com/containernetworking/plugins/pkg/netlinksafe"
	"github.com/vishvananda/netlink"
	"sigs.k8s.io/controller-runtime/pkg/log"
)

// syncRoutes programs routes to every peer's pod CIDRs and removes the
// agent's routes to nodes that are gone. It returns the peers reached
// through VXLAN.
func (a *Agent) syncRoutes(ctx context.Context, self nodeInfo, peers []nodeInfo) ([]nodeInfo, error) {
	var desired []*netlink.Route
	var tunnelled []nodeInfo
	for _, p := range peers {
		direct, err := a.direct(p)
		if err != nil {
			return nil, err
		}
		if !direct {
			tunnelled = append(tunnelled, p)
			continue
		}
		for _, cidr := range p.podCIDRs {
			via, ok := p.underlayFor(cidr)
			if !ok {
				log.FromContext(ctx).Info("cannot route pod CIDR directly: peer has no InternalIP of its family", "peer", p.name, "podCIDR", cidr)
				continue
			}
			desired = append(desired, hostGWRoute(cidr, via))
		}
	}
	log.FromContext(ctx).V(1).Info("routing peers", "direct", len(peers)-len(tunnelled), "vxlan", len(tunnelled))
	vxlanRoutes, err := a.syncVXLAN(self, tunnelled)
	if err != nil {
		return nil, err
	}
	return tunnelled, replaceRoutes(append(desired, vxlanRoutes...))
}

// direct decides whether a peer is reached via host-gw.
func (a *Agent) direct(p nodeInfo) (bool, error) {
	switch a.cfg.Mode {
	case ModeHostGW:
		return true, nil
	case ModeVXLAN:
		return false, nil
	}
	routes, err := netlink.RouteGet(p.internalIP.AsSlice())
	if err != nil {
		return false, fmt.Errorf("failed to look up route to node %s: %w", p.name, err)
	}
	for _, r := range routes {
		if r.Gw != nil {
			return false, nil
		}
	}
	return len(routes) > 0, nil
}

func hostGWRoute(cidr netip.Prefix, via netip.Addr) *netlink.Route {
	return &netlink.Route{Dst: prefixToIPNet(cidr), Gw: via.AsSlice(), Protocol: routeProtocolPlinth}
}

func prefixToIPNet(p netip.Prefix) *net.IPNet {
	return &net.IPNet{IP: p.Addr().AsSlice(), Mask: net.CIDRMask(p.Bits(), p.Addr().BitLen())}
}

// replaceRoutes installs desired and deletes the agent's other routes.
func replaceRoutes(desired []*netlink.Route) error {
	keep := make(map[string]bool, len(desired))
	for _, r := range desired {
		if err := netlink.RouteReplace(r); err != nil {
			return fmt.Errorf("failed to program route to %s: %w", r.Dst, err)
		}
		keep[r.Dst.String()] = true
	}
	return deleteOwnRoutes(keep)
}

// deleteOwnRoutes deletes the agent's routes (marked with its protocol
// number) whose destination is not in keep.
func deleteOwnRoutes(keep map[string]bool) error {
	filter := &netlink.Route{Protocol: routeProtocolPlinth}
	routes, err := netlinksafe.RouteListFiltered(netlink.FAMILY_ALL, filter, netlink.RT_FILTER_PROTOCOL)
	if err != nil {
		return fmt.Errorf("failed to list routes: %w", err)
	}
	var errs []error
	for i := range routes {
		if routes[i].Dst != nil && keep[routes[i].Dst.String()] {
			continue
		}
		if err := netlink.RouteDel(&routes[i]); err != nil {
			errs = append(errs, fmt.Errorf("failed to delete route to %s: %w", routes[i].Dst, err))
		}
	}
	return errors.Join(errs...)
}
