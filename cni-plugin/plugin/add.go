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

	"github.com/containernetworking/cni/pkg/skel"
	"github.com/containernetworking/cni/pkg/types"
	current "github.com/containernetworking/cni/pkg/types/100"
	"github.com/containernetworking/plugins/pkg/ip"
	"github.com/containernetworking/plugins/pkg/ns"
	"golang.org/x/sys/unix"

	"github.com/plinth-dev/plinth/cni-plugin/config"
	"github.com/plinth-dev/plinth/cni-plugin/ipam"
)

// Add attaches the container to the pod network and prints the result.
func (p *Plugin) Add(args *skel.CmdArgs) error {
	conf, err := loadConf(args.StdinData)
	if err != nil {
		return err
	}
	netns, err := openNetNS(args.Netns)
	if err != nil {
		return err
	}
	defer netns.Close()
	if err := refuseOwnNetNS(netns); err != nil {
		return err
	}
	if err := ensureNoInterface(netns, args.IfName); err != nil {
		return err
	}
	store, err := openStore(conf)
	if err != nil {
		return err
	}
	key := keyOf(args)
	alloc, err := store.Allocate(key, conf.ParsedRanges, p.podOf(args.Args))
	if err != nil {
		return allocError(err)
	}
	result, err := attach(conf, args, netns, key, alloc)
	if err != nil {
		p.rollback(store, key)
		return err
	}
	if err := mapHostPorts(conf, key, alloc.IPs); err != nil {
		p.rollback(store, key)
		return err
	}
	if err := types.PrintResult(result, conf.CNIVersion); err != nil {
		return types.NewError(types.ErrIOFailure, "failed to print result", err.Error())
	}
	return nil
}

func openNetNS(path string) (ns.NetNS, error) {
	netns, err := ns.GetNS(path)
	if err != nil {
		return nil, types.NewError(types.ErrInvalidNetNS, fmt.Sprintf("failed to open netns %q", path), err.Error())
	}
	return netns, nil
}

// refuseOwnNetNS fails when CNI_NETNS names the network namespace the
// plugin runs in (the host's, for a runtime), compared by device and inode
// so that any path to it counts. It runs before ADD changes anything: skel
// makes the same check only after ADD returns, when the pod's interface,
// addresses and default route would already have replaced the host's.
// The code is the spec's 4 (invalid CNI_NETNS), naming the variable; skel's
// own check uses libcni's 8, which the spec's table does not list.
func refuseOwnNetNS(netns ns.NetNS) error {
	own, err := ns.GetCurrentNS()
	if err != nil {
		return types.NewError(types.ErrInternal, "failed to open the plugin's network namespace", err.Error())
	}
	defer own.Close()
	same, err := sameFile(own.Fd(), netns.Fd())
	if err != nil {
		return types.NewError(types.ErrInternal, "failed to compare network namespaces", err.Error())
	}
	if same {
		return types.NewError(types.ErrInvalidEnvironmentVariables,
			"CNI_NETNS is the plugin's own network namespace", netns.Path())
	}
	return nil
}

// sameFile reports whether two open files are the same inode of the same
// device.
func sameFile(a, b uintptr) (bool, error) {
	var sa, sb unix.Stat_t
	if err := unix.Fstat(int(a), &sa); err != nil {
		return false, fmt.Errorf("failed to stat: %w", err)
	}
	if err := unix.Fstat(int(b), &sb); err != nil {
		return false, fmt.Errorf("failed to stat: %w", err)
	}
	return sa.Dev == sb.Dev && sa.Ino == sb.Ino, nil
}

// ensureNoInterface fails when the container already has ifName, as the
// spec requires of ADD.
func ensureNoInterface(netns ns.NetNS, ifName string) error {
	var exists bool
	err := netns.Do(func(ns.NetNS) error {
		var err error
		exists, err = linkExists(ifName)
		return err
	})
	if err != nil {
		return types.NewError(types.ErrInternal, "failed to inspect the container", err.Error())
	}
	if exists {
		return types.NewError(types.ErrInternal, fmt.Sprintf("interface %q already exists in the container", ifName), "")
	}
	return nil
}

func allocError(err error) error {
	if errors.Is(err, ipam.ErrRangeFull) {
		return types.NewError(types.ErrTryAgainLater, "no free pod address", err.Error())
	}
	return ioError(err)
}

// rollback undoes a failed ADD so that nothing stays reserved; if it fails
// too, DEL or GC from the runtime finishes the job.
func (p *Plugin) rollback(store *ipam.Store, key ipam.Key) {
	if err := deleteLink(hostVethNameForKey(key)); err != nil {
		p.Log.Error(err, "failed to remove host veth after failed ADD", "containerID", key.ContainerID)
		return
	}
	if err := store.Release(key); err != nil {
		p.Log.Error(err, "failed to release addresses after failed ADD", "containerID", key.ContainerID)
	}
}

// attach creates and configures the veth pair for an allocation.
func attach(conf *config.NetConf, args *skel.CmdArgs, netns ns.NetNS, key ipam.Key, alloc ipam.Allocation) (*current.Result, error) {
	hostName := hostVethNameForKey(key)
	// A retried ADD may find the host end of an earlier, interrupted attempt.
	if err := deleteLink(hostName); err != nil {
		return nil, types.NewError(types.ErrInternal, "failed to remove stale host veth", err.Error())
	}
	if err := enableForwarding(alloc.IPs); err != nil {
		return nil, types.NewError(types.ErrInternal, "failed to enable forwarding", err.Error())
	}
	var hostIf, podIf net.Interface
	err := netns.Do(func(hostNS ns.NetNS) error {
		var err error
		hostIf, podIf, err = ip.SetupVethWithName(args.IfName, hostName, conf.MTU, "", hostNS)
		if err != nil {
			return fmt.Errorf("failed to create veth pair: %w", err)
		}
		return configurePod(args.IfName, alloc.IPs, hostIf.HardwareAddr)
	})
	if err != nil {
		return nil, types.NewError(types.ErrInternal, "failed to set up the pod interface", err.Error())
	}
	if err := configureHost(hostName, hostVethAlias(conf.Name), alloc.IPs, podIf.HardwareAddr); err != nil {
		return nil, types.NewError(types.ErrInternal, "failed to set up the host interface", err.Error())
	}
	return buildResult(conf, netns.Path(), hostIf, podIf, alloc.IPs), nil
}

func enableForwarding(ips []netip.Addr) error {
	cfgs := make([]*current.IPConfig, 0, len(ips))
	for _, addr := range ips {
		cfgs = append(cfgs, &current.IPConfig{Address: *hostPrefix(addr)})
	}
	if err := ip.EnableForward(cfgs); err != nil {
		return fmt.Errorf("failed to enable IP forwarding: %w", err)
	}
	return nil
}

func buildResult(conf *config.NetConf, sandbox string, hostIf, podIf net.Interface, ips []netip.Addr) *current.Result {
	result := &current.Result{
		CNIVersion: current.ImplementedSpecVersion,
		Interfaces: []*current.Interface{
			{Name: hostIf.Name, Mac: hostIf.HardwareAddr.String()},
			{Name: podIf.Name, Mac: podIf.HardwareAddr.String(), Mtu: podIf.MTU, Sandbox: sandbox},
		},
		DNS: conf.DNS,
	}
	for _, addr := range ips {
		gw := gatewayFor(addr)
		result.IPs = append(result.IPs, &current.IPConfig{Interface: current.Int(1), Address: *hostPrefix(addr), Gateway: gw})
		bits := addr.BitLen()
		result.Routes = append(result.Routes, &types.Route{Dst: net.IPNet{IP: make(net.IP, bits/8), Mask: net.CIDRMask(0, bits)}, GW: gw})
	}
	return result
}
