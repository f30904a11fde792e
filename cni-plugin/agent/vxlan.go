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
	"crypto/sha256"
	"errors"
	"fmt"
	"net"
	"net/netip"

	"github.com/containernetworking/plugins/pkg/netlinksafe"
	"github.com/safchain/ethtool"
	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// txChecksumFeature is the ethtool feature for transmit checksum offload
// of a VXLAN device.
const txChecksumFeature = "tx-checksum-ip-generic"

// syncVXLAN maintains the overlay to tunnelled peers and returns the routes
// to their pod CIDRs. Each node's VTEP has the MAC derived from its
// InternalIP and, as address, the network address of each of its pod CIDRs
// (never given to a pod), so no per-node data has to be published: the Node
// objects are enough. Without tunnelled peers the device is removed.
func (a *Agent) syncVXLAN(self nodeInfo, peers []nodeInfo) ([]*netlink.Route, error) {
	if len(peers) == 0 {
		return nil, a.deleteVXLAN()
	}
	if !self.internalIP.IsValid() {
		return nil, fmt.Errorf("failed to set up VXLAN: node %s has no InternalIP", self.name)
	}
	link, err := a.ensureVXLAN(self)
	if err != nil {
		return nil, err
	}
	idx := link.Attrs().Index
	var routes []*netlink.Route
	wantNeigh := map[string]bool{}
	for _, p := range peers {
		mac := vtepMAC(p.internalIP)
		if err := setNeigh(&netlink.Neigh{LinkIndex: idx, Family: unix.AF_BRIDGE, Flags: netlink.NTF_SELF,
			State: netlink.NUD_PERMANENT, IP: p.internalIP.AsSlice(), HardwareAddr: mac}); err != nil {
			return nil, err
		}
		wantNeigh[p.internalIP.String()] = true
		for _, cidr := range p.podCIDRs {
			vtep := cidr.Addr()
			if err := setNeigh(&netlink.Neigh{LinkIndex: idx, State: netlink.NUD_PERMANENT, IP: vtep.AsSlice(), HardwareAddr: mac}); err != nil {
				return nil, err
			}
			wantNeigh[vtep.String()] = true
			routes = append(routes, &netlink.Route{LinkIndex: idx, Dst: prefixToIPNet(cidr), Gw: vtep.AsSlice(),
				Flags: int(netlink.FLAG_ONLINK), Protocol: routeProtocolPlinth})
		}
	}
	return routes, pruneNeighbours(idx, wantNeigh)
}

func (a *Agent) vxlanMTU(underlay netip.Addr) int {
	if underlay.Is4() {
		return a.cfg.UnderlayMTU - vxlanOverheadIPv4
	}
	return a.cfg.UnderlayMTU - vxlanOverheadIPv6
}

// ensureVXLAN creates or repairs the VXLAN device and its VTEP addresses.
func (a *Agent) ensureVXLAN(self nodeInfo) (netlink.Link, error) {
	want := &netlink.Vxlan{
		LinkAttrs: netlink.LinkAttrs{Name: a.cfg.VXLANDevice, MTU: a.vxlanMTU(self.internalIP), HardwareAddr: vtepMAC(self.internalIP)},
		VxlanId:   a.cfg.VXLANID,
		SrcAddr:   self.internalIP.AsSlice(),
		Port:      a.cfg.VXLANPort,
		Learning:  false,
	}
	link, err := a.currentVXLAN(want)
	if err != nil {
		return nil, err
	}
	if link == nil {
		if err := netlink.LinkAdd(want); err != nil {
			return nil, fmt.Errorf("failed to create %s: %w", want.Name, err)
		}
		if link, err = netlinksafe.LinkByName(want.Name); err != nil {
			return nil, fmt.Errorf("failed to find %s: %w", want.Name, err)
		}
	}
	for _, cidr := range self.podCIDRs {
		if err := addVTEPAddr(link, cidr.Addr()); err != nil {
			return nil, err
		}
	}
	if a.offloadOff() {
		if err := disableTxChecksumOffload(want.Name); err != nil {
			return nil, err
		}
	}
	if err := netlink.LinkSetUp(link); err != nil {
		return nil, fmt.Errorf("failed to set %s up: %w", want.Name, err)
	}
	return link, nil
}

// offloadOff applies the checksum offload policy to the running kernel.
func (a *Agent) offloadOff() bool {
	switch a.cfg.VXLANChecksumOffload {
	case ChecksumOffloadOff:
		return true
	case ChecksumOffloadOn:
		return false
	}
	return kernelOlderThan(5, 7)
}

// kernelOlderThan reports whether the running kernel is older than
// major.minor; an unparsable release counts as old, the safe side.
func kernelOlderThan(major, minor int) bool {
	var uts unix.Utsname
	if err := unix.Uname(&uts); err != nil {
		return true
	}
	var maj, mnr int
	if _, err := fmt.Sscanf(unix.ByteSliceToString(uts.Release[:]), "%d.%d", &maj, &mnr); err != nil {
		return true
	}
	return maj < major || (maj == major && mnr < minor)
}

// disableTxChecksumOffload makes the kernel compute inner checksums of
// VXLAN packets in software.
func disableTxChecksumOffload(dev string) error {
	e, err := ethtool.NewEthtool()
	if err != nil {
		return fmt.Errorf("failed to open ethtool: %w", err)
	}
	defer e.Close()
	if err := e.Change(dev, map[string]bool{txChecksumFeature: false}); err != nil {
		return fmt.Errorf("failed to disable checksum offload on %s: %w", dev, err)
	}
	return nil
}

// currentVXLAN returns the existing device if it matches want, deleting it
// (and returning nil) when its identity changed.
func (a *Agent) currentVXLAN(want *netlink.Vxlan) (netlink.Link, error) {
	link, err := netlinksafe.LinkByName(want.Name)
	if err != nil {
		var notFound netlink.LinkNotFoundError
		if errors.As(err, &notFound) {
			return nil, nil
		}
		return nil, fmt.Errorf("failed to look up %s: %w", want.Name, err)
	}
	got, ok := link.(*netlink.Vxlan)
	if ok && got.VxlanId == want.VxlanId && got.SrcAddr.Equal(want.SrcAddr) && got.Port == want.Port &&
		got.MTU == want.MTU && got.HardwareAddr.String() == want.HardwareAddr.String() {
		return link, nil
	}
	if err := netlink.LinkDel(link); err != nil {
		return nil, fmt.Errorf("failed to replace %s: %w", want.Name, err)
	}
	return nil, nil
}

func addVTEPAddr(link netlink.Link, ip netip.Addr) error {
	addr := &netlink.Addr{IPNet: &net.IPNet{IP: ip.AsSlice(), Mask: net.CIDRMask(ip.BitLen(), ip.BitLen())}}
	if ip.Is6() {
		addr.Flags = unix.IFA_F_NODAD
	}
	if err := netlink.AddrReplace(link, addr); err != nil {
		return fmt.Errorf("failed to add VTEP address %s: %w", ip, err)
	}
	return nil
}

func setNeigh(n *netlink.Neigh) error {
	if n.Family == 0 {
		n.Family = netlink.FAMILY_V4
		if len(n.IP) == net.IPv6len && n.IP.To4() == nil {
			n.Family = netlink.FAMILY_V6
		}
	}
	if err := netlink.NeighSet(n); err != nil {
		return fmt.Errorf("failed to set neighbour %s on VXLAN device: %w", n.IP, err)
	}
	return nil
}

// pruneNeighbours removes permanent neighbour and FDB entries of departed
// peers from the VXLAN device.
func pruneNeighbours(linkIndex int, want map[string]bool) error {
	var errs []error
	for _, fam := range []int{unix.AF_BRIDGE, netlink.FAMILY_V4, netlink.FAMILY_V6} {
		neighs, err := netlink.NeighList(linkIndex, fam)
		if err != nil {
			return fmt.Errorf("failed to list neighbours: %w", err)
		}
		for i := range neighs {
			n := &neighs[i]
			if n.State&netlink.NUD_PERMANENT == 0 || n.IP == nil || want[n.IP.String()] {
				continue
			}
			if err := netlink.NeighDel(n); err != nil {
				errs = append(errs, fmt.Errorf("failed to delete neighbour %s: %w", n.IP, err))
			}
		}
	}
	return errors.Join(errs...)
}

// deleteVXLAN removes the VXLAN device, with its routes and neighbours.
func (a *Agent) deleteVXLAN() error {
	link, err := netlinksafe.LinkByName(a.cfg.VXLANDevice)
	if err != nil {
		var notFound netlink.LinkNotFoundError
		if errors.As(err, &notFound) {
			return nil
		}
		return fmt.Errorf("failed to look up %s: %w", a.cfg.VXLANDevice, err)
	}
	if err := netlink.LinkDel(link); err != nil {
		return fmt.Errorf("failed to delete %s: %w", a.cfg.VXLANDevice, err)
	}
	return nil
}

// vtepMAC derives a stable, locally administered unicast MAC from a node's
// underlay address.
func vtepMAC(ip netip.Addr) net.HardwareAddr {
	sum := sha256.Sum256(ip.AsSlice())
	mac := net.HardwareAddr(sum[:6])
	mac[0] = (mac[0] | 0x02) &^ 0x01
	return mac
}
