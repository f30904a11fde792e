package provisioning

import (
	corev1 "k8s.io/api/core/v1"

	"github.com/plinth-dev/plinth/controllers/storageclass"
)

// Annotations and finalizers of the upstream provisioner contract.
const (
	// AnnStorageProvisioner names the provisioner that is to provision a
	// claim; kube-controller-manager sets it from the claim's StorageClass.
	AnnStorageProvisioner = "volume.kubernetes.io/storage-provisioner"
	// AnnBetaStorageProvisioner is the deprecated form of AnnStorageProvisioner.
	AnnBetaStorageProvisioner = "volume.beta.kubernetes.io/storage-provisioner"
	// AnnSelectedNode names the node a claim's volume is to be created on.
	AnnSelectedNode = "volume.kubernetes.io/selected-node"
	// AnnProvisionedBy names the provisioner that created a PV.
	AnnProvisionedBy = "pv.kubernetes.io/provisioned-by"
	// FinalizerPV keeps a provisioned PV until its volume is deleted or
	// retained according to the reclaim policy, even when the PV object is
	// deleted first.
	FinalizerPV = "external-provisioner.volume.kubernetes.io/finalizer"
	// FinalizerCloningProtection keeps a clone's source claim while the
	// clone is being provisioned.
	FinalizerCloningProtection = "provisioner.storage.kubernetes.io/cloning-protection"
)

// Plinth's own annotations and finalizers.
const (
	// FinalizerProvisioning is Plinth's durable record, on a claim, that a
	// volume may exist for it that no PV records yet.
	FinalizerProvisioning = "storage.plinth.dev/provisioning"
	// AnnProvisioningNode names the node whose provisioner holds
	// FinalizerProvisioning on a claim.
	AnnProvisioningNode = "storage.plinth.dev/provisioning-node"
	// AnnVolumeNode names, on a PV, the node whose pool holds the volume.
	AnnVolumeNode = "storage.plinth.dev/node"
)

// Parameters the provisioner adds to CreateVolume, as external-provisioner's
// --extra-create-metadata does.
const (
	paramPVCName = storageclass.ReservedPrefix + "pvc/name"
	paramPVCNS   = storageclass.ReservedPrefix + "pvc/namespace"
	paramPVName  = storageclass.ReservedPrefix + "pv/name"
)

// VolumeName is the name of the volume, and of the PV, provisioned for the
// claim with the given UID.
func VolumeName(claimUID string) string {
	return "pvc-" + claimUID
}

// provisionerOf returns the provisioner kube-controller-manager assigned to
// a claim.
func provisionerOf(pvc *corev1.PersistentVolumeClaim) string {
	if name := pvc.Annotations[AnnStorageProvisioner]; name != "" {
		return name
	}
	return pvc.Annotations[AnnBetaStorageProvisioner]
}
