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

// Package nodelabel labels the driver's PersistentVolumes and
// VolumeSnapshotContents that carry no node label with
// storage.plinth.dev/node=Unclaimed, so that every plinth-node, which with
// --cache-own-objects-only watches only the objects labelled with its name
// or Unclaimed, still sees them.
//
// Plinth labels what it creates with the node that holds it: the
// provisioner its PVs, the snapshot controller its contents. What others
// create lacks the label: a pre-provisioned snapshot content an admin
// imports, a PV made by hand, the contents of the upstream
// snapshot-controller. The node that finds such an object's snapshot or
// volume in its pool may claim it (an import sets its own name as the
// label); until then, all nodes see it, as they see everything without
// the flag. An object Plinth made before it labelled what it makes carries
// its node in the storage.plinth.dev/node annotation, and gets that node as
// its label instead. A label an object already carries is never changed.
package nodelabel
