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

// Package snapshot is the common snapshot controller of the standard
// snapshot.storage.k8s.io/v1 API, the part upstream's snapshot-controller
// does: it binds each VolumeSnapshot to a VolumeSnapshotContent (creating
// the content for a dynamic snapshot of a claim, checking the reference of
// a pre-provisioned one), mirrors the content's status into the snapshot,
// and applies the deletion policy when a snapshot is deleted. The physical
// snapshot is cut by the content controller (package snapshotcontent) on
// the node that holds the source volume.
//
// It uses the upstream finalizers, annotations and names, so that backup
// tools written for the standard API work unchanged, and it can be
// switched off where the cluster already runs upstream's controller.
package snapshot
