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
	"context"
	"errors"
	"fmt"
	"net/netip"
	"os/exec"

	"github.com/containernetworking/cni/pkg/types"

	"github.com/plinth-dev/plinth/cni-plugin/config"
	"github.com/plinth-dev/plinth/cni-plugin/hostport"
	"github.com/plinth-dev/plinth/cni-plugin/ipam"
)

// mapHostPorts maps the pod's hostPorts (capability portMappings) to its
// addresses; a pod without any needs no nft.
func mapHostPorts(conf *config.NetConf, key ipam.Key, ips []netip.Addr) error {
	if len(conf.RuntimeConfig.PortMappings) == 0 {
		return nil
	}
	t, err := hostport.Open(hostport.DefaultTable)
	if err == nil {
		err = t.Add(context.Background(), key.ID(), ips, conf.RuntimeConfig.PortMappings)
	}
	if err != nil {
		return types.NewError(types.ErrInternal, "failed to map host ports", err.Error())
	}
	return nil
}

// unmapHostPorts removes the attachment's hostPort mappings when the
// runtime passes them on DEL, as it passes the capability on every verb;
// GC removes those of a DEL that came without.
func unmapHostPorts(conf *config.NetConf, key ipam.Key) error {
	if len(conf.RuntimeConfig.PortMappings) == 0 {
		return nil
	}
	t, err := hostport.Open(hostport.DefaultTable)
	if err == nil {
		err = t.Delete(context.Background(), key.ID())
	}
	if err != nil {
		return types.NewError(types.ErrInternal, "failed to unmap host ports", err.Error())
	}
	return nil
}

// collectHostPorts removes the hostPort mappings of attachments the store
// no longer holds. A node without nft can hold no mappings.
func collectHostPorts(store *ipam.Store) error {
	if _, err := exec.LookPath("nft"); errors.Is(err, exec.ErrNotFound) {
		return nil
	}
	allocs, err := store.List()
	if err != nil {
		return fmt.Errorf("failed to list attachments: %w", err)
	}
	live := make(map[string]bool, len(allocs))
	for _, a := range allocs {
		live[a.ID] = true
	}
	t, err := hostport.Open(hostport.DefaultTable)
	if err != nil {
		return err
	}
	return t.GC(context.Background(), func(id string) bool { return live[id] })
}
