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
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Condition types and reasons of a StoragePool.
const (
	// PoolReady is True while the pool's directory is usable for volumes.
	PoolReady = "Ready"
	// ReasonPoolHealthy: the pool answered its health probe.
	ReasonPoolHealthy = "PoolHealthy"
	// ReasonPoolUnavailable: the pool's directory cannot be used.
	ReasonPoolUnavailable = "PoolUnavailable"
)

// StoragePoolSpec says where a node keeps its volumes. plinth-node writes it.
// +kubebuilder:validation:XValidation:rule="self.nodeName == oldSelf.nodeName",message="nodeName is immutable"
type StoragePoolSpec struct {
	// NodeName is the node the pool belongs to.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	NodeName string `json:"nodeName"`

	// Path is the pool directory on the node.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=4096
	Path string `json:"path"`

	// OverProvisionRatio is how many times its filesystem's size the pool
	// may promise to volumes and snapshots (sparse files); "1" means no
	// over-provisioning.
	// +optional
	OverProvisionRatio *resource.Quantity `json:"overProvisionRatio,omitempty"`
}

// StoragePoolStatus is the observed state of a node's pool.
type StoragePoolStatus struct {
	// ObservedGeneration is the generation the status describes.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`

	// Filesystem is the filesystem type of the pool directory, such as xfs.
	// +optional
	Filesystem string `json:"filesystem,omitempty"`

	// Reflink is true when snapshots and clones are O(1) reflink copies;
	// false means they are full (sparse-aware) copies.
	// +optional
	Reflink bool `json:"reflink,omitempty"`

	// Capacity is the size of the pool's filesystem.
	// +optional
	Capacity *resource.Quantity `json:"capacity,omitempty"`

	// Used is the space the pool's volumes and snapshots occupy.
	// +optional
	Used *resource.Quantity `json:"used,omitempty"`

	// Available is what new volumes may still be given: the size times the
	// over-provisioning ratio less what volumes and snapshots were promised,
	// and never more than keeps the reserve free once they are written; the
	// capacity published to the scheduler.
	// +optional
	Available *resource.Quantity `json:"available,omitempty"`

	// Volumes is the number of volumes in the pool.
	// +optional
	Volumes int32 `json:"volumes,omitempty"`

	// Snapshots is the number of snapshots in the pool.
	// +optional
	Snapshots int32 `json:"snapshots,omitempty"`

	// Conditions: Ready.
	// +optional
	// +listType=map
	// +listMapKey=type
	Conditions []metav1.Condition `json:"conditions,omitempty"`
}

// StoragePool reports one node's volume pool: where it is, how full, and
// whether snapshots are instant. There is one per node, named after it.
//
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:scope=Cluster,shortName=spool,categories=plinth
// +kubebuilder:printcolumn:name="Node",type=string,JSONPath=`.spec.nodeName`
// +kubebuilder:printcolumn:name="FS",type=string,JSONPath=`.status.filesystem`
// +kubebuilder:printcolumn:name="Reflink",type=boolean,JSONPath=`.status.reflink`
// +kubebuilder:printcolumn:name="Capacity",type=string,JSONPath=`.status.capacity`
// +kubebuilder:printcolumn:name="Available",type=string,JSONPath=`.status.available`
// +kubebuilder:printcolumn:name="Volumes",type=integer,JSONPath=`.status.volumes`
// +kubebuilder:printcolumn:name="Snapshots",type=integer,JSONPath=`.status.snapshots`
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].status`
type StoragePool struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// +required
	Spec StoragePoolSpec `json:"spec"`
	// +optional
	Status StoragePoolStatus `json:"status,omitempty"`
}

// StoragePoolList is a list of StoragePools.
//
// +kubebuilder:object:root=true
type StoragePoolList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []StoragePool `json:"items"`
}
