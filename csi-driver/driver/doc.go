// Package driver implements the CSI Identity, Controller and Node services on
// top of a backend.Backend, and the gRPC server that exposes them on a unix
// socket.
//
// The services own everything that is the same for every storage system:
// argument checks with messages naming the field at fault, the mapping of
// backend errors to the gRPC codes the CSI spec prescribes, idempotency by
// name (volume and snapshot IDs are derived from CSI names), per-object
// locking (a second concurrent call for the same volume gets codes.Aborted and
// is retried by the caller), topology, formatting and mounting with
// k8s.io/mount-utils (SafeFormatAndMount never formats a device that holds
// data), and logging through a gRPC interceptor that strips secrets.
//
// IDs that arrive over gRPC are parsed before anything else happens. A
// malformed ID names nothing the driver could have created, so DeleteVolume
// and DeleteSnapshot succeed without touching anything, list filters match
// nothing, content sources are NotFound, and every other call returns
// InvalidArgument.
//
// # Inline ephemeral volumes
//
// The node service also serves Kubernetes CSI ephemeral volumes (CSIDriver
// volumeLifecycleModes: Ephemeral): a pod volume
//
//	csi:
//	  driver: csi.plinth.dev
//	  volumeAttributes: {size: 2Gi, fsType: xfs}
//
// is a blank filesystem that lives as long as the pod. Kubelet calls only
// NodePublishVolume, with volume_id "csi-" and 64 hex digits and the volume
// context key csi.storage.k8s.io/ephemeral set to "true", and
// NodeUnpublishVolume when the pod goes away. The attributes are:
//
//   - size: a Kubernetes quantity, greater than zero, rounded up to whole
//     MiB (an XFS volume is at least 300 MiB); default 1Gi.
//   - fsType: ext4 or xfs; default the pod's csi.fsType, else the driver's
//     default filesystem.
//
// Any other attribute is InvalidArgument, as are block access and a
// read-only volume (it would stay empty); keys under csi.storage.k8s.io/ are
// kubelet's and ignored. No space is ResourceExhausted.
//
// NodePublishVolume derives a backend volume ID from kubelet's volume_id as
// from any CSI name, creates the volume with that volume_id as its name,
// attaches it, formats it with SafeFormatAndMount and mounts it directly at
// the target path. The name is the durable record that the volume is
// ephemeral and whose: CreateVolume refuses names of that form. Every step
// finds what an interrupted earlier call did, so after a crash kubelet's
// retried publish completes the job, and NodeUnpublishVolume (unmount,
// detach, delete) removes whatever exists. A publish that fails after
// creating the volume deletes it again, because kubelet never unpublishes a
// volume whose publish failed with a final error. NodeUnpublishVolume
// deletes only a volume whose name records its volume_id and that is no
// longer mounted anywhere. NodeGetVolumeStats accepts the volume_id too.
//
// The controller service leaves these volumes out of ListVolumes and
// ControllerListVolumeHealth, so that nothing comparing volumes with
// PersistentVolumes takes them for leaks, and DeleteVolume refuses them
// with FailedPrecondition.
package driver
