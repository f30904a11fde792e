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
	"strings"

	"github.com/containernetworking/cni/pkg/skel"
	"github.com/containernetworking/cni/pkg/types"
	"github.com/containernetworking/plugins/pkg/netlinksafe"

	"github.com/plinth-dev/plinth/cni-plugin/ipam"
)

// GC releases every attachment of this network that the runtime does not
// list in cni.dev/valid-attachments, then removes this network's host veths
// that belong to no allocation (left by an ADD that was killed). It keeps
// going past errors. Everything it touches is this network's: the IPAM store
// is the network's own, and a host veth counts as the network's only when
// its alias names the network (see hostVethAlias), so GC of one plinth-cni
// network never removes another's interfaces.
func (p *Plugin) GC(args *skel.CmdArgs) error {
	conf, err := loadConf(args.StdinData)
	if err != nil {
		return err
	}
	store, err := openStore(conf)
	if err != nil {
		return err
	}
	valid := make([]ipam.Key, 0, len(conf.ValidAttachments))
	for _, a := range conf.ValidAttachments {
		valid = append(valid, ipam.Key{ContainerID: a.ContainerID, IfName: a.IfName})
	}
	released, gcErr := store.GC(valid, func(a ipam.Allocation) error {
		return DeleteHostVeth(a.ID)
	})
	for _, a := range released {
		p.Log.Info("released stale attachment", "id", a.ID, "ips", a.IPs)
	}
	sweepErr := p.sweepOrphanVeths(store, hostVethAlias(conf.Name))
	if err := errors.Join(gcErr, sweepErr, collectHostPorts(store)); err != nil {
		return types.NewError(types.ErrInternal, "failed to collect garbage", err.Error())
	}
	return nil
}

// sweepOrphanVeths deletes the network's host veths (those whose alias is
// alias) that no allocation of store owns. It holds the store's lock, so no
// concurrent ADD can create a veth between the listing and the deletion.
// A plx veth without that alias, another network's or one made before
// veths carried aliases, is left alone: it cannot be proved to be ours.
func (p *Plugin) sweepOrphanVeths(store *ipam.Store, alias string) error {
	err := store.Inspect(func(allocs []ipam.Allocation) error {
		owned := make(map[string]bool, len(allocs))
		for _, a := range allocs {
			owned[hostVethName(a.ID)] = true
		}
		links, err := netlinksafe.LinkList()
		if err != nil {
			return fmt.Errorf("failed to list links: %w", err)
		}
		var errs []error
		for _, l := range links {
			name := l.Attrs().Name
			if l.Type() != "veth" || !strings.HasPrefix(name, HostVethPrefix) || owned[name] || l.Attrs().Alias != alias {
				continue
			}
			p.Log.Info("deleting orphan host veth", "link", name)
			errs = append(errs, deleteLink(name))
		}
		return errors.Join(errs...)
	})
	if err != nil {
		return fmt.Errorf("failed to sweep orphan veths: %w", err)
	}
	return nil
}
