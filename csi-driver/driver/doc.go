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
// IDs that arrive over gRPC are parsed once, at the top of each call (the
// parsers are in ids.go), into backend.VolumeID and backend.SnapshotID,
// which every helper and the backend take from there on. A malformed ID
// names nothing the driver could have created, so DeleteVolume and
// DeleteSnapshot succeed without touching anything, list filters match
// nothing, content sources are NotFound, and every other call returns
// InvalidArgument.
//
// # Growing filesystems
//
// A volume expanded while unstaged grows when NodeStageVolume stages it
// next: ext4 before the mount, with e2fsck and resize2fs on the unmounted
// device; XFS, which only grows mounted, right after the mount. A mounted
// volume grows in NodeExpandVolume: XFS always can, ext4 only when the
// driver has CAP_SYS_RESOURCE (the kernel's EXT4_IOC_RESIZE_FS demands it);
// without it the call fails with FailedPrecondition, which tells kubelet to
// stop retrying until the next stage, and the filesystem keeps working at
// its old size.
//
// k8s.io/mount-utils does the work: SafeFormatAndMount detects a device's
// filesystem and formats and checks it at mount, and ResizeFs.Resize runs
// resize2fs or xfs_growfs. What it lacks is the answer to "is this
// filesystem smaller than its device?": ResizeFs.NeedResize answers yes for
// every ext3, ext4 and XFS filesystem and leaves the check to the tools (it
// reads sizes for btrfs only). The driver needs the answer in three places,
// and geometry.go reads it from the filesystem's superblock:
//
//   - NodeStageVolume of an ext4 volume: resize2fs on an unmounted
//     filesystem demands a forced e2fsck first, a full metadata check that
//     takes seconds on a large filesystem. The driver runs the pair only
//     when the device outgrew the filesystem, not on every stage.
//   - NodeExpandVolume of a mounted ext4 filesystem without
//     CAP_SYS_RESOURCE: "nothing to grow" must succeed (kubelet calls
//     NodeExpandVolume after a stage that already grew the filesystem),
//     "must grow" is FailedPrecondition.
//   - NodeStageVolume of an XFS volume: running xfs_growfs after every mount,
//     with the blkid that Resize runs first, would add two commands of
//     several milliseconds each to a stage of about 25 ms.
//
// resize2fs and mke2fs leave a trailing block group unused when it is too
// small for its own bookkeeping, and the kernel does the same for a small
// trailing XFS allocation group, so a device larger than its filesystem
// need not mean growth; geometry.go bounds that slack, and its tests check
// the bound against resize2fs itself.
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
