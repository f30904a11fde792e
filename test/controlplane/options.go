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

package controlplane

import (
	"fmt"
	"strconv"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/runtime"
)

// Default network ranges of the local control plane. They are used only
// inside the API objects of the simulated cluster: nothing routes them.
const (
	DefaultClusterCIDR      = "10.244.0.0/16"
	DefaultServiceCIDR      = "10.96.0.0/16"
	DefaultNodeCIDRMaskSize = 24
)

// Options configure a control plane. The zero value is usable: no nodes,
// default network ranges, logs in a fresh temporary directory.
type Options struct {
	// Dir holds logs, kubeconfigs and certificates. Empty means a new
	// temporary directory, removed by Stop unless KeepDir is set.
	Dir string
	// KeepDir keeps Dir after Stop (set automatically for failed tests).
	KeepDir bool
	// BinDir holds etcd, kube-apiserver, kube-controller-manager and
	// kube-scheduler. Empty means KUBEBUILDER_ASSETS, else <repo>/bin/k8s.
	BinDir string
	// Nodes are registered before Start returns.
	Nodes []NodeSpec
	// ClusterCIDR is the pod range kube-controller-manager allocates
	// Node.spec.podCIDRs from. Empty means DefaultClusterCIDR.
	ClusterCIDR string
	// AllocateNodeCIDRs turns kube-controller-manager's node IPAM off when
	// false; nil means on.
	AllocateNodeCIDRs *bool
	// ServiceCIDR is the Service ClusterIP range. Empty means DefaultServiceCIDR.
	ServiceCIDR string
	// NodeCIDRMaskSize is the prefix length of each node's pod CIDR.
	NodeCIDRMaskSize int
	// CRDDirectoryPaths are installed before Start returns.
	CRDDirectoryPaths []string
	// HeartbeatInterval is how often simulated nodes renew their Lease and
	// Ready condition. Zero means 10s, as a kubelet does.
	HeartbeatInterval time.Duration
	// StartTimeout bounds the start of each component. Zero means 2 minutes.
	StartTimeout time.Duration
	// Scheme holds the types the admin Client knows; nil means client-go's
	// built-in types.
	Scheme *runtime.Scheme
	// ControllerManagerAPI and SchedulerAPI limit the requests of
	// kube-controller-manager and kube-scheduler (their --kube-api-qps and
	// --kube-api-burst). The zero value passes no flag, so each runs with
	// its own defaults, as a kubeadm cluster does: QPS 20, burst 30 for
	// kube-controller-manager and QPS 50, burst 100 for kube-scheduler in
	// Kubernetes v1.36 (DefaultClientLimits). TunedClientLimits is a setting
	// for bursts of thousands of objects.
	ControllerManagerAPI ClientLimits
	SchedulerAPI         ClientLimits
}

// ClientLimits are a component's client-side limits on its requests to
// kube-apiserver: a token bucket of Burst tokens refilled at QPS per second.
type ClientLimits struct {
	QPS   float32
	Burst int
}

// IsZero reports whether no limit is set, so the component's default holds.
func (l ClientLimits) IsZero() bool {
	return l.QPS == 0 && l.Burst == 0
}

// flags returns the component flags that set the limits; none when unset.
func (l ClientLimits) flags() []string {
	var flags []string
	if l.QPS != 0 {
		flags = append(flags, "--kube-api-qps="+strconv.FormatFloat(float64(l.QPS), 'f', -1, 32))
	}
	if l.Burst != 0 {
		flags = append(flags, "--kube-api-burst="+strconv.Itoa(l.Burst))
	}
	return flags
}

// String is "qps=Q,burst=B", or "defaults" when unset.
func (l ClientLimits) String() string {
	if l.IsZero() {
		return "defaults"
	}
	return fmt.Sprintf("qps=%g,burst=%d", l.QPS, l.Burst)
}

// Client limits of kube-controller-manager and kube-scheduler.
var (
	// DefaultControllerManagerLimits and DefaultSchedulerLimits are what
	// the v1.36 binaries use without flags (their --help says so).
	DefaultControllerManagerLimits = ClientLimits{QPS: 20, Burst: 30}
	DefaultSchedulerLimits         = ClientLimits{QPS: 50, Burst: 100}
	// TunedClientLimits lets a burst of thousands of claims through without
	// client-side throttling on a small machine.
	TunedClientLimits = ClientLimits{QPS: 1000, Burst: 2000}
)

// NodeSpec describes a simulated Node.
type NodeSpec struct {
	// Name is the Node name and its kubernetes.io/hostname label.
	Name string
	// Zone and Region become topology.kubernetes.io/zone and /region labels.
	Zone   string
	Region string
	// Labels are added to the well-known ones.
	Labels map[string]string
	// InternalIP is the node address. Empty means an address in 127.0.1.0/24.
	InternalIP string
	// Allocatable resources; empty values mean 4 CPUs, 16Gi memory, 110 pods.
	CPU, Memory, Pods string
}

func (o *Options) setDefaults() {
	if o.ClusterCIDR == "" {
		o.ClusterCIDR = DefaultClusterCIDR
	}
	if o.ServiceCIDR == "" {
		o.ServiceCIDR = DefaultServiceCIDR
	}
	if o.NodeCIDRMaskSize == 0 {
		o.NodeCIDRMaskSize = DefaultNodeCIDRMaskSize
	}
	if o.AllocateNodeCIDRs == nil {
		on := true
		o.AllocateNodeCIDRs = &on
	}
	if o.HeartbeatInterval == 0 {
		o.HeartbeatInterval = 10 * time.Second
	}
	if o.StartTimeout == 0 {
		o.StartTimeout = 2 * time.Minute
	}
}

// resources returns the node's allocatable resources, defaults filled in.
func (n NodeSpec) resources() (corev1.ResourceList, error) {
	values := map[corev1.ResourceName]string{
		corev1.ResourceCPU:    orDefault(n.CPU, "4"),
		corev1.ResourceMemory: orDefault(n.Memory, "16Gi"),
		corev1.ResourcePods:   orDefault(n.Pods, "110"),
	}
	list := corev1.ResourceList{}
	for name, value := range values {
		q, err := resource.ParseQuantity(value)
		if err != nil {
			return nil, fmt.Errorf("node %q: invalid %s %q: %w", n.Name, name, value, err)
		}
		list[name] = q
	}
	return list, nil
}

// labels returns the node's labels: the given ones plus the well-known
// hostname, zone, region and OS labels.
func (n NodeSpec) labels() map[string]string {
	labels := map[string]string{
		corev1.LabelHostname:   n.Name,
		corev1.LabelOSStable:   "linux",
		corev1.LabelArchStable: "amd64",
	}
	if n.Zone != "" {
		labels[corev1.LabelTopologyZone] = n.Zone
	}
	if n.Region != "" {
		labels[corev1.LabelTopologyRegion] = n.Region
	}
	for k, v := range n.Labels {
		labels[k] = v
	}
	return labels
}

func orDefault(value, def string) string {
	if value == "" {
		return def
	}
	return value
}
