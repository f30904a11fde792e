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

package localcluster

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/netip"
	"path/filepath"
)

// Defaults of Options.
const (
	DefaultUnderlay         = "10.250.0.0/24"
	DefaultClusterCIDR      = "10.244.0.0/16"
	DefaultServiceCIDR      = "10.96.0.0/16"
	DefaultNodeCIDRMaskSize = 24
	DefaultPoolSize         = 4 << 30
)

// Pool filesystems of a node.
const (
	// PoolXFS mounts a fresh XFS image (reflink=1) at the node's
	// /var/lib/plinth/pool, as an admin gives the pool a disk of its own.
	PoolXFS = "xfs"
	// PoolDir leaves /var/lib/plinth/pool a plain directory on the
	// machine's own filesystem, as on a node set up with chart defaults.
	PoolDir = "dir"
)

// Options describe a local cluster. Only BinDir and Nodes are required.
type Options struct {
	// Dir holds all state; it is emptied at start and removed by Stop
	// unless KeepDir is set. Empty means a new temporary directory.
	Dir string
	// KeepDir keeps Dir (logs, kubeconfigs) after Stop.
	KeepDir bool
	// BinDir holds k8s/ (etcd, kube-apiserver, kube-controller-manager,
	// kube-scheduler, kubelet, kube-proxy), node/ (containerd,
	// containerd-shim-runc-v2, ctr) and pause, the nodes' init process.
	BinDir string
	// Nodes are the real nodes; at least one.
	Nodes []NodeSpec
	// Images are image tarballs imported into every node's containerd.
	Images []string
	// Underlay is the network joining the control plane (its first
	// address) and the nodes (the following ones).
	Underlay string
	// ClusterCIDR, ServiceCIDR and NodeCIDRMaskSize configure pod and
	// Service addressing; kube-controller-manager allocates node pod CIDRs.
	ClusterCIDR, ServiceCIDR string
	NodeCIDRMaskSize         int
	// ControllerManagerArgs and SchedulerArgs are extra flags, such as
	// client QPS; the components' own defaults apply otherwise.
	ControllerManagerArgs, SchedulerArgs []string
}

// NodeSpec describes one real node.
type NodeSpec struct {
	// Name is the Node's name.
	Name string
	// Zone and Region become the kubelet's topology.kubernetes.io labels.
	Zone, Region string
	// Pool is PoolXFS (default) or PoolDir.
	Pool string
	// PoolSize is the size of a PoolXFS image; zero means DefaultPoolSize.
	PoolSize int64
}

func (o *Options) complete() error {
	if len(o.Nodes) == 0 {
		return fmt.Errorf("a local cluster needs at least one node")
	}
	setDefault(&o.Underlay, DefaultUnderlay)
	setDefault(&o.ClusterCIDR, DefaultClusterCIDR)
	setDefault(&o.ServiceCIDR, DefaultServiceCIDR)
	if o.NodeCIDRMaskSize == 0 {
		o.NodeCIDRMaskSize = DefaultNodeCIDRMaskSize
	}
	for i := range o.Nodes {
		setDefault(&o.Nodes[i].Pool, PoolXFS)
		if o.Nodes[i].PoolSize == 0 {
			o.Nodes[i].PoolSize = DefaultPoolSize
		}
	}
	bin, err := filepath.Abs(o.BinDir)
	if err != nil {
		return fmt.Errorf("failed to resolve %s: %w", o.BinDir, err)
	}
	o.BinDir = bin
	if _, err := netip.ParsePrefix(o.Underlay); err != nil {
		return fmt.Errorf("invalid underlay: %w", err)
	}
	return nil
}

func setDefault(s *string, v string) {
	if *s == "" {
		*s = v
	}
}

// addresses returns the control plane's address and one per node.
func (o *Options) addresses() (netip.Prefix, netip.Addr, []netip.Addr) {
	p := netip.MustParsePrefix(o.Underlay).Masked()
	cp := p.Addr().Next()
	nodes := make([]netip.Addr, len(o.Nodes))
	a := cp
	for range 10 { // nodes from .11: room for more control-plane addresses
		a = a.Next()
	}
	for i := range nodes {
		nodes[i] = a
		a = a.Next()
	}
	return p, cp, nodes
}

// newID names one cluster's namespaces and cgroups, so that two clusters
// (a `make run` and a test) never collide.
func newID() string {
	b := make([]byte, 3)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
