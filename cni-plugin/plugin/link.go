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
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"

	"github.com/containernetworking/plugins/pkg/netlinksafe"
	"github.com/containernetworking/plugins/pkg/utils/sysctl"
	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// The link-local next hops pods route through; permanent neighbour entries
// map them to the host end of the veth, so the host needs no address for them.
var (
	gatewayV4 = net.IPv4(169, 254, 1, 1).To4()
	gatewayV6 = net.ParseIP("fe80::1")
)

func gatewayFor(ip netip.Addr) net.IP {
	if ip.Is4() {
		return gatewayV4
	}
	return gatewayV6
}

func hostPrefix(ip netip.Addr) *net.IPNet {
	return &net.IPNet{IP: ip.AsSlice(), Mask: net.CIDRMask(ip.BitLen(), ip.BitLen())}
}

func family(ip netip.Addr) int {
	if ip.Is4() {
		return netlink.FAMILY_V4
	}
	return netlink.FAMILY_V6
}

// configurePod runs inside the pod's netns: loopback up, RAs off, addresses,
// link up, gateway neighbour and routes.
func configurePod(ifName string, ips []netip.Addr, hostMAC net.HardwareAddr) error {
	if err := setUp("lo"); err != nil {
		return err
	}
	link, err := netlinksafe.LinkByName(ifName)
	if err != nil {
		return fmt.Errorf("failed to find %s: %w", ifName, err)
	}
	if err := disableRA(ifName); err != nil {
		return err
	}
	for _, ip := range ips {
		if err := addPodAddr(link, ip); err != nil {
			return err
		}
	}
	if err := netlink.LinkSetUp(link); err != nil {
		return fmt.Errorf("failed to set %s up: %w", ifName, err)
	}
	for _, ip := range ips {
		if err := addPodRoutes(link, ip, hostMAC); err != nil {
			return err
		}
	}
	return nil
}

func setUp(name string) error {
	link, err := netlinksafe.LinkByName(name)
	if err != nil {
		return fmt.Errorf("failed to find %s: %w", name, err)
	}
	if err := netlink.LinkSetUp(link); err != nil {
		return fmt.Errorf("failed to set %s up: %w", name, err)
	}
	return nil
}

// disableRA turns router advertisements off; a netns without IPv6 has no
// such setting, and no RA can arrive there.
func disableRA(ifName string) error {
	_, err := sysctl.Sysctl(fmt.Sprintf("net/ipv6/conf/%s/accept_ra", ifName), "0")
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("failed to disable accept_ra on %s: %w", ifName, err)
	}
	return nil
}

// addPodAddr adds ip as a host address; IPv6 skips duplicate address
// detection because the address is unique by allocation and must be usable
// as soon as ADD returns.
func addPodAddr(link netlink.Link, ip netip.Addr) error {
	addr := &netlink.Addr{IPNet: hostPrefix(ip)}
	if ip.Is6() {
		addr.Flags = unix.IFA_F_NODAD
	}
	if err := netlink.AddrAdd(link, addr); err != nil {
		return fmt.Errorf("failed to add %s to %s: %w", ip, link.Attrs().Name, err)
	}
	return nil
}

func addPodRoutes(link netlink.Link, ip netip.Addr, hostMAC net.HardwareAddr) error {
	gw := gatewayFor(ip)
	idx := link.Attrs().Index
	if err := setNeighbour(idx, gw, hostMAC); err != nil {
		return err
	}
	if ip.Is4() {
		onLink := &netlink.Route{LinkIndex: idx, Dst: hostPrefix(netip.AddrFrom4([4]byte(gw))), Scope: netlink.SCOPE_LINK}
		if err := netlink.RouteReplace(onLink); err != nil {
			return fmt.Errorf("failed to add route to gateway %s: %w", gw, err)
		}
	}
	def := &netlink.Route{LinkIndex: idx, Gw: gw, Family: family(ip)}
	if err := netlink.RouteReplace(def); err != nil {
		return fmt.Errorf("failed to add default route via %s: %w", gw, err)
	}
	return nil
}

// setNeighbour pins ip to mac on the link with a permanent entry.
func setNeighbour(linkIndex int, ip net.IP, mac net.HardwareAddr) error {
	fam := netlink.FAMILY_V6
	if ip.To4() != nil {
		fam = netlink.FAMILY_V4
	}
	n := &netlink.Neigh{LinkIndex: linkIndex, Family: fam, State: netlink.NUD_PERMANENT, IP: ip, HardwareAddr: mac}
	if err := netlink.NeighSet(n); err != nil {
		return fmt.Errorf("failed to set neighbour %s: %w", ip, err)
	}
	return nil
}

// configureHost runs in the host netns: the network's alias on the host
// end of the veth, then a host route and a permanent neighbour entry per pod
// address.
func configureHost(hostName, alias string, ips []netip.Addr, podMAC net.HardwareAddr) error {
	link, err := netlinksafe.LinkByName(hostName)
	if err != nil {
		return fmt.Errorf("failed to find %s: %w", hostName, err)
	}
	if err := netlink.LinkSetAlias(link, alias); err != nil {
		return fmt.Errorf("failed to set the alias of %s: %w", hostName, err)
	}
	idx := link.Attrs().Index
	for _, ip := range ips {
		if err := setNeighbour(idx, ip.AsSlice(), podMAC); err != nil {
			return err
		}
		r := &netlink.Route{LinkIndex: idx, Dst: hostPrefix(ip), Scope: netlink.SCOPE_LINK}
		if err := netlink.RouteReplace(r); err != nil {
			return fmt.Errorf("failed to add host route to %s: %w", ip, err)
		}
	}
	return nil
}

// deleteLink removes the named link of the current netns; a missing link is
// not an error, so teardown can be repeated.
func deleteLink(name string) error {
	link, err := netlinksafe.LinkByName(name)
	if err != nil {
		var notFound netlink.LinkNotFoundError
		if errors.As(err, &notFound) {
			return nil
		}
		return fmt.Errorf("failed to find %s: %w", name, err)
	}
	if err := netlink.LinkDel(link); err != nil && !errors.Is(err, unix.ENODEV) {
		return fmt.Errorf("failed to delete %s: %w", name, err)
	}
	return nil
}

// linkExists reports whether the current netns has a link called name.
func linkExists(name string) (bool, error) {
	_, err := netlinksafe.LinkByName(name)
	if err == nil {
		return true, nil
	}
	var notFound netlink.LinkNotFoundError
	if errors.As(err, &notFound) {
		return false, nil
	}
	return false, fmt.Errorf("failed to look up %s: %w", name, err)
}
