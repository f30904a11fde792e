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

	"github.com/containernetworking/cni/pkg/skel"
	"github.com/containernetworking/cni/pkg/types"
	"github.com/containernetworking/cni/pkg/version"
	"github.com/go-logr/logr"

	"github.com/plinth-dev/plinth/cni-plugin/config"
	"github.com/plinth-dev/plinth/cni-plugin/ipam"
)

// About is printed by the binary when it runs without CNI_COMMAND.
const About = "plinth-cni: routed per-pod veth networking for Plinth"

// Plugin holds what the CNI verbs share; the zero value logs nothing.
type Plugin struct {
	// Log receives diagnostics; it must not write to stdout.
	Log logr.Logger
}

// Funcs returns the verbs for skel.PluginMainFuncs.
func (p *Plugin) Funcs() skel.CNIFuncs {
	return skel.CNIFuncs{
		Add:    p.Add,
		Del:    p.Del,
		Check:  p.Check,
		Status: p.Status,
		GC:     p.GC,
	}
}

// VersionInfo lists every CNI spec version the plugin accepts.
func VersionInfo() version.PluginInfo {
	return version.All
}

// loadConf parses stdin data, mapping failures to CNI error codes.
func loadConf(data []byte) (*config.NetConf, error) {
	conf, err := config.Parse(data)
	if err == nil {
		return conf, nil
	}
	var fe *config.FieldError
	if errors.As(err, &fe) {
		return nil, types.NewError(types.ErrInvalidNetworkConfig, fe.Error(), "")
	}
	return nil, types.NewError(types.ErrDecodingFailure, "failed to decode network config", err.Error())
}

// openStore opens the IPAM store, mapping failures to an I/O error.
func openStore(conf *config.NetConf) (*ipam.Store, error) {
	store, err := ipam.Open(conf.DataDir, conf.Name)
	if err != nil {
		return nil, ioError(err)
	}
	return store, nil
}

func ioError(err error) error {
	return types.NewError(types.ErrIOFailure, "failed to access plugin state", err.Error())
}

func keyOf(args *skel.CmdArgs) ipam.Key {
	return ipam.Key{ContainerID: args.ContainerID, IfName: args.IfName}
}

// hostVethNameForKey is the name of the host end of an attachment's veth pair.
func hostVethNameForKey(key ipam.Key) string {
	return hostVethName(key.ID())
}

func hostVethName(id string) string {
	return fmt.Sprintf("%s%s", HostVethPrefix, id[:12])
}

// hostVethAlias is the alias of the host veths of the network: it tells
// whose a veth is, which its name, derived from the attachment alone, does
// not.
func hostVethAlias(network string) string {
	return "plinth-cni/" + network
}

// DeleteHostVeth removes the host end of the veth pair of the allocation
// with the given ID, and with it the pod end and the host routes to the
// pod's addresses; a missing veth is not an error. It acts on the network
// namespace of the calling thread, the host's in production.
func DeleteHostVeth(allocationID string) error {
	return deleteLink(hostVethName(allocationID))
}

// HostVethPrefix starts the name of every host-side interface the plugin
// creates.
const HostVethPrefix = "plx"
