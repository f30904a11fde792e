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

package wellknown

import (
	"crypto/sha256"
	"encoding/hex"
)

// The driver's identity.
const (
	// DriverName is the CSI driver name Plinth registers.
	DriverName = "csi.plinth.dev"
	// TopologyKeyNode is the topology key whose value is the node holding
	// a volume: Plinth's volumes are node-local.
	TopologyKeyNode = "topology.csi.plinth.dev/node"
)

// Plinth's own annotations and finalizers on storage objects.
const (
	// FinalizerProvisioning is Plinth's durable record, on a claim, that a
	// volume may exist for it that no PV records yet.
	FinalizerProvisioning = "storage.plinth.dev/provisioning"
	// AnnProvisioningNode names the node whose provisioner holds
	// FinalizerProvisioning on a claim.
	AnnProvisioningNode = "storage.plinth.dev/provisioning-node"
	// AnnVolumeID records, on a claim, the ID of the volume its provisioner
	// is about to create (the driver derives IDs from names, so it is known
	// before CreateVolume), for people to read: cleanup derives the ID
	// again from the claim's UID, since the claim's owner can write this.
	AnnVolumeID = "storage.plinth.dev/volume-id"
	// AnnNode names, on a PV, a snapshot content or a claim, the node whose
	// pool holds the volume or snapshot; that node's controllers act on it
	// (and, for a claim, the node admission policy lets that node write it).
	AnnNode = "storage.plinth.dev/node"
	// LabelNode names, as a label with the value NodeLabel(AnnNode), the
	// node of a PV or snapshot content of the driver, so that each plinth-node can
	// watch its own objects alone (plinth-node's --cache-own-objects-only).
	LabelNode = "storage.plinth.dev/node"
	// NodeUnclaimed is the value of LabelNode on a PV or snapshot content
	// of the driver that no node has claimed yet (a pre-provisioned
	// snapshot to import, a PV made by hand): every node watches those
	// too. It cannot be a node's name, which is lower case.
	NodeUnclaimed = "Unclaimed"
	// FinalizerSnapshotCleanup keeps a snapshot content until the node
	// holding its snapshot has deleted (Delete policy) or let go of
	// (Retain) it.
	FinalizerSnapshotCleanup = "storage.plinth.dev/snapshot-cleanup"
)

// Names of the upstream external-provisioner that no library exports
// (the others come from k8s.io/component-helpers/storage/volume and the
// external-snapshotter's utils).
const (
	// FinalizerCloningProtection keeps a clone's source claim while the
	// clone is being provisioned.
	FinalizerCloningProtection = "provisioner.storage.kubernetes.io/cloning-protection"
	// LabelCapacityDriverName and LabelCapacityManagedBy label every
	// CSIStorageCapacity, as external-provisioner labels them.
	LabelCapacityDriverName = "csi.storage.k8s.io/drivername"
	LabelCapacityManagedBy  = "csi.storage.k8s.io/managed-by"
	// AnnAllowVolumeModeChange, set to "true" on a VolumeSnapshotContent
	// by an admin, allows restoring the snapshot into a claim of another
	// volume mode (KEP-3141; the external-snapshotter's utils do not
	// export it).
	AnnAllowVolumeModeChange = "snapshot.storage.kubernetes.io/allow-volume-mode-change"
)

// The Gateway API's ReferenceGrant, which allows a claim's dataSourceRef to
// name an object in another namespace (the upstream
// CrossNamespaceVolumeDataSource rule).
const (
	ReferenceGrantGroup   = "gateway.networking.k8s.io"
	ReferenceGrantVersion = "v1beta1"
	ReferenceGrantKind    = "ReferenceGrant"
)

// VolumeName is the CSI name of the volume, and the name of the PV,
// provisioned for the claim with the given UID (the upstream convention).
func VolumeName(claimUID string) string {
	return "pvc-" + claimUID
}

// SnapshotContentName is the name of the content of a dynamic snapshot.
func SnapshotContentName(snapshotUID string) string {
	return "snapcontent-" + snapshotUID
}

// SnapshotName is the CSI name of the physical snapshot of the content
// bound to the snapshot with the given UID.
func SnapshotName(snapshotUID string) string {
	return "snapshot-" + snapshotUID
}

// maxLabelValue is the longest a label value may be.
const maxLabelValue = 63

// NodeLabel is the LabelNode value of the objects of node: its name, or a
// hash of a name too long for a label value (a node's name may have 253
// characters).
func NodeLabel(node string) string {
	if len(node) <= maxLabelValue {
		return node
	}
	sum := sha256.Sum256([]byte(node))
	return "sha256-" + hex.EncodeToString(sum[:])[:40]
}

// CapacityManagedBy is the LabelCapacityManagedBy value of the capacity
// objects that plinth-node on node publishes; a long node name is hashed
// to fit a label value.
func CapacityManagedBy(node string) string {
	v := "plinth-node-" + node
	if len(v) <= maxLabelValue {
		return v
	}
	sum := sha256.Sum256([]byte(node))
	return "plinth-node-" + hex.EncodeToString(sum[:])[:32]
}
