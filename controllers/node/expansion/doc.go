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

// Package expansion grows volumes when their claims ask for more: the work
// of the upstream external-resizer sidecar. It runs in plinth-node for the
// PVs of this node's pool: when a bound claim's request exceeds its PV's
// capacity (kube-apiserver has already checked that the StorageClass allows
// expansion), it calls ControllerExpandVolume, records the new size in the
// PV, and leaves the filesystem growth to the kubelet's NodeExpandVolume,
// reporting progress in the claim's status as upstream does
// (allocatedResources, allocatedResourceStatuses and the Resizing and
// FileSystemResizePending conditions).
package expansion
