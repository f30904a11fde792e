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
// is this node, and calls the node's CSI driver over its socket.
//
// Durable intent comes before any side effect: the claim gets the
// provisioning finalizer before CreateVolume, and keeps it until a PV
// records the volume. A crash between CreateVolume and the PV's creation,
// followed by the claim's deletion, therefore cannot leak the volume (the
// upstream leak of external-provisioner issue 486): the finalizer makes the
// claim wait until the provisioner has deleted the volume again.
package provisioning
