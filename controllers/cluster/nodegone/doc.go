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

// Package nodegone is plinth-controller's fallback for finalizers that
// only a node's plinth-node can remove, once that node no longer exists:
//
//   - storage.plinth.dev/provisioning on a claim (the durable intent to
//     provision on the node named by storage.plinth.dev/provisioning-node);
//   - external-provisioner.volume.kubernetes.io/finalizer on a PV whose
//     volume lives on the node named by storage.plinth.dev/node;
//   - storage.plinth.dev/snapshot-cleanup on a VolumeSnapshotContent whose
//     snapshot lives on the node named by storage.plinth.dev/node.
//
// Without it, deleting such an object after its node was removed from the
// cluster hangs for ever. The controller acts only on objects being
// deleted, and only once the node has been absent for the whole grace
// period (measured from the deletion request and rechecked at its end), so
// a node that is briefly deleted and re-registered keeps its objects. The
// node's pool went with the node: the controller records a Warning Event
// naming what could not be cleaned up there.
package nodegone
