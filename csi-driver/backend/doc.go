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

// Package backend defines the one seam a storage vendor implements to get the
// whole Plinth CSI driver: the Backend interface, the typed errors the CSI
// services translate into gRPC status codes, and the format of volume and
// snapshot IDs.
//
// The driver owns IDs. It derives a volume ID from the CSI volume name (and a
// snapshot ID from the snapshot name) with NewVolumeID and NewSnapshotID, so a
// retried CreateVolume always lands on the same ID and never produces a second
// piece of storage. Every ID that arrives over gRPC is parsed once, with
// ParseVolumeID or ParseSnapshotID, at the top of the call, and travels as a
// VolumeID or SnapshotID from there on, so a backend only ever sees IDs of
// the form "vol-<32 hex digits>" or "snap-<32 hex digits>": safe to use as
// file names, keys or labels without parsing them again.
//
// The driver serializes calls that concern the same volume or snapshot, so a
// backend needs no per-object locking of its own; it must still be safe for
// calls on different objects to run concurrently.
//
// A backend reports failures that the caller can act on by wrapping one of the
// Err* sentinel errors (errors.Is must find it); every other error becomes
// codes.Internal at the CSI boundary.
package backend
