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

// Package provisioning turns PersistentVolumeClaims of a Plinth
// StorageClass into volumes and PersistentVolumes, and deletes them again
// according to the reclaim policy: the work of the upstream
// external-provisioner sidecar, under the same contract (volume name
// pvc-<claim UID>, the provisioned-by annotation, the PV finalizer, a PV
// pre-bound to its claim with node affinity from the volume's accessible
// topology) so that clusters, tools and users see what they expect.
//
// It runs in plinth-node for the claims whose selected node
// (volume.kubernetes.io/selected-node, set by kube-scheduler for
// WaitForFirstConsumer classes and by plinth-controller for Immediate ones)
// is this node, and calls the node's CSI driver over its socket. It does
// not wait for kube-controller-manager to name the provisioner in the
// volume.kubernetes.io/storage-provisioner annotation, as the sidecar does:
// the class names it already, and a PV that exists when the PV controller
// reaches the claim spares that controller (20 QPS by default) the
// annotation's write and Event. The claim's finalizers are added and
// removed with merge patches that cannot conflict with the PV controller
// binding the claim at the same moment.
//
// Durable intent comes before any side effect: the claim gets the
// provisioning finalizer before CreateVolume, and keeps it until a PV
// records the volume. A crash between CreateVolume and the PV's creation,
// followed by the claim's deletion, therefore cannot leak the volume (the
// upstream leak of external-provisioner issue 486): the finalizer makes the
// claim wait until the provisioner has deleted the volume again. The
// volume's ID follows from the claim's UID (the driver derives IDs from
// names), so cleanup deletes the volume by its ID even when the claim's
// class or data source is gone, or kube-controller-manager never named the
// provisioner on the claim, and never calls CreateVolume to find it. The
// intent writes that ID on the claim for people to read; it is never read
// back, since the claim's owner can write annotations. What cleanup cannot
// delete is left to the orphan sweep (package controllers/node/orphans).
//
// Data sources are checked as external-provisioner checks them. A restore
// or clone never changes the volume mode (KEP-3141): a Block source into a
// Filesystem claim would have the node mount bytes a tenant wrote raw. Only
// a VolumeSnapshotContent that an admin annotated
// snapshot.storage.kubernetes.io/allow-volume-mode-change: "true" may be
// restored into the other mode. A dataSourceRef naming another namespace is
// honoured only when a Gateway API ReferenceGrant in that namespace allows
// claims of the claim's namespace to use it (the upstream
// CrossNamespaceVolumeDataSource rule); both refusals are ProvisioningFailed
// Events, and no volume is made.
package provisioning
