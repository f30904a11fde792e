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
	"github.com/containernetworking/cni/pkg/skel"
	"github.com/containernetworking/cni/pkg/types"
)

// Del detaches the container and releases its addresses. It succeeds when
// repeated and when the container's netns is already gone: deleting the host
// end of the veth removes both ends and the host routes, and the addresses
// are released by attachment key, never by pod name.
func (p *Plugin) Del(args *skel.CmdArgs) error {
	conf, err := loadConf(args.StdinData)
	if err != nil {
		return err
	}
	store, err := openStore(conf)
	if err != nil {
		return err
	}
	key := keyOf(args)
	if err := unmapHostPorts(conf, key); err != nil {
		return err
	}
	// The interface goes first: a host route must never outlive its address.
	if err := deleteLink(hostVethNameForKey(key)); err != nil {
		return types.NewError(types.ErrInternal, "failed to delete host veth", err.Error())
	}
	if err := store.Release(key); err != nil {
		return ioError(err)
	}
	return nil
}
