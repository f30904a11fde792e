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
	"net/netip"
	"path/filepath"

	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/log"

	"github.com/plinth-dev/plinth/cni-plugin/config"
)

// Mode selects how traffic reaches other nodes' pods.
type Mode string

// The data paths between nodes.
const (
	// ModeAuto routes directly to peers on a connected subnet and uses VXLAN
	// for the others.
	ModeAuto Mode = "auto"
	// ModeHostGW always routes via the peer's InternalIP.
	ModeHostGW Mode = "host-gw"
	// ModeVXLAN always encapsulates.
	ModeVXLAN Mode = "vxlan"
)

// Defaults for Config.
const (
	DefaultCNIBinDir   = "/opt/cni/bin"
	DefaultCNIConfDir  = "/etc/cni/net.d"
	DefaultNetworkName = "plinth"
	DefaultUnderlayMTU = 1500
	DefaultVXLANID     = 1
	DefaultVXLANPort   = 4789
	DefaultVXLANDevice = "plinth.vxlan"
)

const (
	pluginBinaryName = "plinth-cni"
	conflistName     = "10-plinth.conflist"
	// Outer Ethernet is not counted in the MTU: IP + UDP + VXLAN + inner Ethernet.
	vxlanOverheadIPv4 = 20 + 8 + 8 + 14
	vxlanOverheadIPv6 = 40 + 8 + 8 + 14
	// routeProtocolPlinth marks the agent's routes (see /etc/iproute2/rt_protos),
	// so it can tell them from everyone else's.
	routeProtocolPlinth = 201
)

// Config configures the agent; zero fields take the defaults above.
type Config struct {
	// NodeName is the Node the agent runs on.
	NodeName string
	// ClusterCIDRs are the cluster's pod CIDRs; traffic from them to
	// anywhere else is masqueraded. Empty derives them from the Nodes: the
	// union of every Node's pod CIDRs, following the Node watch.
	ClusterCIDRs []string
	// ClusterCIDRSource says where ClusterCIDRs came from, for logs and
	// Events; empty with ClusterCIDRs set means the flag.
	ClusterCIDRSource CIDRSource
	// Mode picks the inter-node data path.
	Mode Mode
	// Masquerade enables source NAT for traffic leaving the cluster CIDRs.
	Masquerade bool
	// UnderlayMTU is the MTU of the node's network; pod MTU is derived from it.
	UnderlayMTU int
	// PodMTU, when set, is the pod interface MTU instead of the derived one
	// (ClusterNetwork spec.mtu).
	PodMTU int
	// PluginBinary is the plinth-cni binary shipped in the agent's image.
	PluginBinary string
	// CNIBinDir receives the plugin binary.
	CNIBinDir string
	// CNIConfDir receives 10-plinth.conflist.
	CNIConfDir string
	// DataDir holds the plugin's IPAM store.
	DataDir string
	// StateFile is the agent state file the plugin's STATUS waits for.
	StateFile string
	// NetworkName is the CNI network name.
	NetworkName string
	// VXLANID, VXLANPort and VXLANDevice configure the overlay.
	VXLANID     int
	VXLANPort   int
	VXLANDevice string
	// VXLANChecksumOffload controls transmit checksum offload on the VXLAN
	// device (default ChecksumOffloadAuto).
	VXLANChecksumOffload ChecksumOffload
}

// ChecksumOffload is the transmit checksum offload policy of the VXLAN device.
type ChecksumOffload string

// Checksum offload policies.
const (
	// ChecksumOffloadAuto turns offload off on kernels older than 5.7, whose
	// VXLAN checksum offload corrupted NATed packets (the 63-second
	// connection delays reported against flannel and Calico), and leaves it
	// on elsewhere: without offload the device loses TSO and throughput
	// drops about tenfold.
	ChecksumOffloadAuto ChecksumOffload = "auto"
	// ChecksumOffloadOn leaves offload as the kernel sets it.
	ChecksumOffloadOn ChecksumOffload = "on"
	// ChecksumOffloadOff computes checksums in software.
	ChecksumOffloadOff ChecksumOffload = "off"
)

// Agent programs the node's pod network. Its methods must run in the
// network namespace the agent manages (the host's, in production), one at a
// time.
type Agent struct {
	cfg          Config
	clusterCIDRs []netip.Prefix
	nft          nftables
}

// New validates cfg, applies defaults and returns an Agent.
func New(cfg Config) (*Agent, error) {
	cfg.applyDefaults()
	if cfg.NodeName == "" {
		return nil, errors.New("failed to configure agent: NodeName is required")
	}
	switch cfg.Mode {
	case ModeAuto, ModeHostGW, ModeVXLAN:
	default:
		return nil, fmt.Errorf("failed to configure agent: unknown mode %q", cfg.Mode)
	}
	switch cfg.VXLANChecksumOffload {
	case ChecksumOffloadAuto, ChecksumOffloadOn, ChecksumOffloadOff:
	default:
		return nil, fmt.Errorf("failed to configure agent: unknown VXLANChecksumOffload %q", cfg.VXLANChecksumOffload)
	}
	cidrs, err := parsePrefixes(cfg.ClusterCIDRs)
	if err != nil {
		return nil, fmt.Errorf("failed to configure agent: ClusterCIDRs: %w", err)
	}
	if len(cidrs) > 0 && cfg.ClusterCIDRSource == "" {
		cfg.ClusterCIDRSource = CIDRSourceFlag
	}
	return &Agent{cfg: cfg, clusterCIDRs: cidrs}, nil
}

func (c *Config) applyDefaults() {
	setDefault(&c.CNIBinDir, DefaultCNIBinDir)
	setDefault(&c.CNIConfDir, DefaultCNIConfDir)
	setDefault(&c.DataDir, config.DefaultDataDir)
	setDefault(&c.StateFile, config.DefaultAgentStateFile)
	setDefault(&c.NetworkName, DefaultNetworkName)
	setDefault(&c.VXLANDevice, DefaultVXLANDevice)
	setDefault((*string)(&c.Mode), string(ModeAuto))
	setDefault((*string)(&c.VXLANChecksumOffload), string(ChecksumOffloadAuto))
	if c.UnderlayMTU == 0 {
		c.UnderlayMTU = DefaultUnderlayMTU
	}
	if c.VXLANID == 0 {
		c.VXLANID = DefaultVXLANID
	}
	if c.VXLANPort == 0 {
		c.VXLANPort = DefaultVXLANPort
	}
}

func setDefault(field *string, value string) {
	if *field == "" {
		*field = value
	}
}

func parsePrefixes(in []string) ([]netip.Prefix, error) {
	out := make([]netip.Prefix, 0, len(in))
	for _, s := range in {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return nil, fmt.Errorf("failed to parse %q: %w", s, err)
		}
		out = append(out, p.Masked())
	}
	return out, nil
}

// ConflistPath is where the agent writes the network configuration.
func (a *Agent) ConflistPath() string {
	return filepath.Join(a.cfg.CNIConfDir, conflistName)
}

// Sync converges the node's network to the given Node list. It returns
// without writing the conflist while this node has no pod CIDRs, so the
// runtime keeps reporting the network as not ready. Peers' pod CIDRs and
// addresses that fail the checks of viewOf are left out.
func (a *Agent) Sync(ctx context.Context, nodes []corev1.Node) error {
	_, err := a.sync(ctx, nodes)
	return err
}

// syncResult is what a sync did besides programming the node.
type syncResult struct {
	// programmed is false while the node waits for its pod CIDRs.
	programmed bool
	// refusals are the peers' pod CIDRs and addresses left out.
	refusals []refusal
}

// sync is Sync that also tells whether the node was programmed, which it is
// not while it waits for its pod CIDRs, and what it refused.
func (a *Agent) sync(ctx context.Context, nodes []corev1.Node) (syncResult, error) {
	v := a.viewOf(nodes)
	res := syncResult{refusals: v.refusals}
	if !v.found {
		return res, fmt.Errorf("failed to find own node %q in the node list", a.cfg.NodeName)
	}
	if len(v.self.podCIDRs) == 0 {
		log.FromContext(ctx).Info("waiting for pod CIDRs", "node", a.cfg.NodeName)
		return res, nil
	}
	tunnelled, err := a.syncRoutes(ctx, v.self, v.peers)
	if err != nil {
		return res, err
	}
	cidrs, _ := a.clusterCIDRsOf(v)
	if err := a.syncMasquerade(ctx, cidrs); err != nil {
		return res, err
	}
	if err := a.syncVXLANFilter(ctx, v.self, v.peers, tunnelled); err != nil {
		return res, err
	}
	if err := a.installPlugin(); err != nil {
		return res, err
	}
	if err := a.writeConflist(v.self); err != nil {
		return res, err
	}
	res.programmed = true
	return res, a.writeState(v.self)
}

// DataDir is the directory of the plugin's IPAM store.
func (a *Agent) DataDir() string { return a.cfg.DataDir }

// StateFile is the agent's readiness file, which the plugin's STATUS reads.
func (a *Agent) StateFile() string { return a.cfg.StateFile }
