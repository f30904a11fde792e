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

package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Mode selects how pod traffic crosses between nodes.
// +kubebuilder:validation:Enum=auto;host-gw;vxlan
type Mode string

// The inter-node data paths.
const (
	// ModeAuto routes directly to nodes on a shared subnet and through VXLAN
	// to the others.
	ModeAuto Mode = "auto"
	// ModeHostGW always routes via the peer node's InternalIP; nodes must
	// share a layer-2 segment.
	ModeHostGW Mode = "host-gw"
	// ModeVXLAN always encapsulates.
	ModeVXLAN Mode = "vxlan"
)

// Condition types of a ClusterNetwork.
const (
	// ConditionReady is true when every node that needs a pod CIDR has one.
	ConditionReady = "Ready"
	// ConditionExhausted is true when a node could not get a block.
	ConditionExhausted = "Exhausted"
)

// NodeMaskSize is the prefix length of the block each node gets, per family.
// +kubebuilder:validation:XValidation:rule="!has(self.ipv4) || !has(oldSelf.ipv4) || self.ipv4 == oldSelf.ipv4",message="ipv4 is immutable"
// +kubebuilder:validation:XValidation:rule="!has(self.ipv6) || !has(oldSelf.ipv6) || self.ipv6 == oldSelf.ipv6",message="ipv6 is immutable"
type NodeMaskSize struct {
	// IPv4 is the prefix length of a node's IPv4 block (a /24 holds 253 pods).
	// +optional
	// +kubebuilder:default=24
	// +kubebuilder:validation:Minimum=8
	// +kubebuilder:validation:Maximum=30
	IPv4 int32 `json:"ipv4,omitempty"`

	// IPv6 is the prefix length of a node's IPv6 block.
	// +optional
	// +kubebuilder:default=64
	// +kubebuilder:validation:Minimum=48
	// +kubebuilder:validation:Maximum=126
	IPv6 int32 `json:"ipv6,omitempty"`
}

// ClusterNetworkSpec is the desired pod network of the cluster.
// +kubebuilder:validation:XValidation:rule="self.podCIDRs.all(c, cidr(c).ip().family() != 4 || cidr(c).prefixLength() < self.nodeMaskSize.ipv4)",message="nodeMaskSize.ipv4 must be longer than the IPv4 pod CIDR's prefix"
// +kubebuilder:validation:XValidation:rule="self.podCIDRs.all(c, cidr(c).ip().family() != 6 || cidr(c).prefixLength() < self.nodeMaskSize.ipv6)",message="nodeMaskSize.ipv6 must be longer than the IPv6 pod CIDR's prefix"
type ClusterNetworkSpec struct {
	// PodCIDRs are the cluster's pod address ranges: one, or one IPv4 and one
	// IPv6 for dual-stack. Nodes get blocks from them. Immutable, because
	// running pods hold addresses from them.
	// +required
	// +kubebuilder:validation:MinItems=1
	// +kubebuilder:validation:MaxItems=2
	// +kubebuilder:validation:items:MaxLength=43
	// +listType=atomic
	// +kubebuilder:validation:XValidation:rule="self.all(c, isCIDR(c) && cidr(c) == cidr(c).masked())",message="each pod CIDR must be a CIDR without host bits"
	// +kubebuilder:validation:XValidation:rule="self.size() < 2 || cidr(self[0]).ip().family() != cidr(self[1]).ip().family()",message="two pod CIDRs must be of different IP families"
	// +kubebuilder:validation:XValidation:rule="self == oldSelf",message="podCIDRs is immutable"
	PodCIDRs []string `json:"podCIDRs"`

	// NodeMaskSize is the size of the block each node gets from each pod CIDR.
	// +optional
	// +kubebuilder:default={}
	NodeMaskSize NodeMaskSize `json:"nodeMaskSize,omitempty"`

	// Mode selects the inter-node data path.
	// +optional
	// +kubebuilder:default=auto
	Mode Mode `json:"mode,omitempty"`

	// MTU of pod interfaces; unset derives it from the underlay MTU minus
	// the VXLAN overhead unless the mode is host-gw.
	// +optional
	// +kubebuilder:validation:Minimum=1280
	// +kubebuilder:validation:Maximum=9216
	MTU *int32 `json:"mtu,omitempty"`

	// Masquerade source-NATs pod traffic that leaves the pod CIDRs to the
	// node's address.
	// +optional
	// +kubebuilder:default=true
	Masquerade *bool `json:"masquerade,omitempty"`
}

// NodeBlock is the pod CIDRs allocated to one node.
type NodeBlock struct {
	// NodeName is the Node holding the blocks.
	// +required
	NodeName string `json:"nodeName"`

	// PodCIDRs are the node's blocks, one per family.
	// +required
	// +listType=atomic
	PodCIDRs []string `json:"podCIDRs"`
}

// BlockUsage counts node blocks of one pod CIDR.
type BlockUsage struct {
	// PodCIDR is one of spec.podCIDRs.
	// +required
	PodCIDR string `json:"podCIDR"`

	// Allocated is the number of blocks given to nodes.
	// +required
	Allocated int64 `json:"allocated"`

	// Free is the number of blocks still available.
	// +required
	Free int64 `json:"free"`
}

// ClusterNetworkStatus is the observed state of the pod network.
type ClusterNetworkStatus struct {
	// ObservedGeneration is the spec generation the status reflects.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`

	// Allocations lists the blocks allocated to each node.
	// +optional
	// +listType=map
	// +listMapKey=nodeName
	Allocations []NodeBlock `json:"allocations,omitempty"`

	// Blocks counts allocated and free node blocks per pod CIDR.
	// +optional
	// +listType=map
	// +listMapKey=podCIDR
	Blocks []BlockUsage `json:"blocks,omitempty"`

	// Conditions are Ready and Exhausted.
	// +optional
	// +listType=map
	// +listMapKey=type
	Conditions []metav1.Condition `json:"conditions,omitempty"`
}

// ClusterNetwork describes the cluster's pod network. There is one, named
// "default"; plinth-controller allocates Node.spec.podCIDRs from it when the
// cluster does not allocate them itself.
//
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:scope=Cluster,shortName=cnet
// +kubebuilder:printcolumn:name="Pod CIDRs",type=string,JSONPath=`.spec.podCIDRs`
// +kubebuilder:printcolumn:name="Mode",type=string,JSONPath=`.spec.mode`
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].status`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
// +kubebuilder:validation:XValidation:rule="self.metadata.name == 'default'",message="the ClusterNetwork must be named default"
type ClusterNetwork struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// Spec is the desired pod network.
	// +required
	Spec ClusterNetworkSpec `json:"spec"`

	// Status is the observed pod network.
	// +optional
	Status ClusterNetworkStatus `json:"status,omitempty"`
}

// ClusterNetworkList is a list of ClusterNetworks.
//
// +kubebuilder:object:root=true
type ClusterNetworkList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`

	// Items are the ClusterNetworks.
	Items []ClusterNetwork `json:"items"`
}
