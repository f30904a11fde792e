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

// Package nodepicker selects the node for claims of Immediate-binding Plinth
// StorageClasses. For WaitForFirstConsumer classes kube-scheduler writes
// volume.kubernetes.io/selected-node when it schedules the first pod; for
// Immediate classes nobody would, so this controller, in plinth-controller,
// writes it, and the node provisioner of plinth-node on that node then
// provisions the volume as it does for any selected claim.
//
// A claim is considered while it is pending and unbound, has no selected
// node, no provisioning node (another node already holds its intent) and
// no data source: restores and clones are provisioned where their source
// lives by the node provisioner itself.
//
// The chosen node is the one with the most free capacity among the Ready,
// schedulable nodes without NoSchedule or NoExecute taints that the class's
// allowedTopologies allow. Free capacity comes from the class's
// CSIStorageCapacity objects whose node topology selects the node; one that
// is smaller than the claim's request, or whose maximumVolumeSize is, does
// not count. Ties go to the node whose name sorts first. The annotation is
// written with an optimistic-lock patch, so a claim that changed meanwhile
// is re-evaluated rather than overwritten.
//
// When no node qualifies, the claim gets a Warning Event that says why and
// is evaluated again after a back-off, and at once when a CSIStorageCapacity
// or the StorageClass changes. When the chosen node's pool turns out to be
// full after all, its provisioner removes the selected node (as it does for
// kube-scheduler's choices) and the claim comes back here.
package nodepicker
