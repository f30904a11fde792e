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

package plugin

import (
	"fmt"
	"net"
	"net/netip"
	"slices"

	"github.com/containernetworking/cni/pkg/skel"
	"github.com/containernetworking/cni/pkg/types"
	current "github.com/containernetworking/cni/pkg/types/100"
	"github.com/containernetworking/plugins/pkg/netlinksafe"
	"github.com/containernetworking/plugins/pkg/ns"
	"github.com/vishvananda/netlink"

	"github.com/plinth-dev/plinth/cni-plugin/config"
)

// Check verifies that what prevResult describes is still in place: the
// allocation, the pod interface with its addresses and routes, and the host
// end with its host routes.
func (p *Plugin) Check(args *skel.CmdArgs) error {
	conf, err := loadConf(args.StdinData)
	if err != nil {
		return err
	}
	prev, err := prevResult(conf)
	if err != nil {
		return err
	}
	ips := resultIPs(prev)
	if err := checkAllocation(conf, args, ips); err != nil {
		return err
	}
	netns, err := openNetNS(args.Netns)
	if err != nil {
		return err
	}
	defer netns.Close()
	err = netns.Do(func(ns.NetNS) error { return checkPod(args.IfName, conf.MTU, ips) })
	if err != nil {
		return types.NewError(types.ErrInternal, "pod interface does not match prevResult", err.Error())
	}
	if err := checkHost(hostVethNameForKey(keyOf(args)), ips); err != nil {
		return types.NewError(types.ErrInternal, "host interface does not match prevResult", err.Error())
	}
	return nil
}

func prevResult(conf *config.NetConf) (*current.Result, error) {
	if conf.PrevResult == nil {
		return nil, types.NewError(types.ErrInvalidNetworkConfig, `invalid field "prevResult": required by CHECK`, "")
	}
	res, err := current.NewResultFromResult(conf.PrevResult)
	if err != nil {
		return nil, types.NewError(types.ErrInvalidNetworkConfig, `invalid field "prevResult"`, err.Error())
	}
	return res, nil
}

func resultIPs(res *current.Result) []netip.Addr {
	out := make([]netip.Addr, 0, len(res.IPs))
	for _, c := range res.IPs {
		if addr, ok := netip.AddrFromSlice(c.Address.IP); ok {
			out = append(out, addr.Unmap())
		}
	}
	return out
}

func checkAllocation(conf *config.NetConf, args *skel.CmdArgs, ips []netip.Addr) error {
	store, err := openStore(conf)
	if err != nil {
		return err
	}
	alloc, found, err := store.Get(keyOf(args))
	if err != nil {
		return ioError(err)
	}
	if !found || !sameAddrs(alloc.IPs, ips) {
		return types.NewError(types.ErrInternal, "allocation does not match prevResult",
			fmt.Sprintf("store has %v, prevResult has %v", alloc.IPs, ips))
	}
	return nil
}

func sameAddrs(a, b []netip.Addr) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.SortFunc(a, netip.Addr.Compare)
	slices.SortFunc(b, netip.Addr.Compare)
	return slices.Equal(a, b)
}

func checkPod(ifName string, mtu int, ips []netip.Addr) error {
	link, err := netlinksafe.LinkByName(ifName)
	if err != nil {
		return fmt.Errorf("failed to find %s: %w", ifName, err)
	}
	if link.Type() != "veth" || link.Attrs().MTU != mtu {
		return fmt.Errorf("%s is %s with MTU %d, want veth with MTU %d", ifName, link.Type(), link.Attrs().MTU, mtu)
	}
	for _, ip := range ips {
		if err := hasAddr(link, ip); err != nil {
			return err
		}
		if err := hasRoute(link, nil, gatewayFor(ip), family(ip)); err != nil {
			return err
		}
	}
	return nil
}

func checkHost(hostName string, ips []netip.Addr) error {
	link, err := netlinksafe.LinkByName(hostName)
	if err != nil {
		return fmt.Errorf("failed to find %s: %w", hostName, err)
	}
	for _, ip := range ips {
		if err := hasRoute(link, hostPrefix(ip), nil, family(ip)); err != nil {
			return err
		}
	}
	return nil
}

func hasAddr(link netlink.Link, ip netip.Addr) error {
	addrs, err := netlinksafe.AddrList(link, family(ip))
	if err != nil {
		return fmt.Errorf("failed to list addresses: %w", err)
	}
	for _, a := range addrs {
		if a.IPNet.String() == hostPrefix(ip).String() {
			return nil
		}
	}
	return fmt.Errorf("address %s missing on %s", ip, link.Attrs().Name)
}

func hasRoute(link netlink.Link, dst *net.IPNet, gw net.IP, fam int) error {
	routes, err := netlinksafe.RouteList(link, fam)
	if err != nil {
		return fmt.Errorf("failed to list routes: %w", err)
	}
	for _, r := range routes {
		if ipNetEqual(r.Dst, dst) && r.Gw.Equal(gw) {
			return nil
		}
	}
	return fmt.Errorf("route to %v via %v missing on %s", dst, gw, link.Attrs().Name)
}

// ipNetEqual treats nil and a zero-length prefix alike: netlink reports
// default routes either way depending on the kernel.
func ipNetEqual(a, b *net.IPNet) bool {
	if a == nil || b == nil {
		return (a == nil || isDefault(a)) && (b == nil || isDefault(b))
	}
	return a.String() == b.String()
}

func isDefault(n *net.IPNet) bool {
	ones, _ := n.Mask.Size()
	return ones == 0
}
