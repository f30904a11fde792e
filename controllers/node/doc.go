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

// Package node is plinth-node's room: the reconcilers that run on every
// node, next to the node's CSI driver, and do for that node's pool what the
// upstream CSI sidecars do for a driver:
//
//   - provisioning: the provisioner of the claims selected for the node and
//     the deleter of their PVs (external-provisioner);
//   - snapshotcontent: cuts and deletes the snapshots of the node's volumes
//     (csi-snapshotter);
//   - expansion: grows the node's volumes (external-resizer);
//   - capacity: publishes the node's CSIStorageCapacity objects;
//   - storagepool: keeps the node's StoragePool current.
//
// Each reconciler is a struct that embeds nodedeps.Deps (the client, the
// driver's controller service, the driver and node names, the event
// recorder), carries its own options as fields and registers itself with
// SetupWithManager(mgr). SetupWithManager of this package wires them all
// from one Deps and the node's Options, the way plinth-node runs them;
// cmd/plinth-node/app builds the manager and the driver connection, calls
// it, and adds what is not storage (the pod network agent, the topology
// notice).
//
// The reconcilers never import one another: the names they share are in
// internal/wellknown. Their RBAC markers make plinth-node's role, together
// with those of cmd/plinth-node/app and cni-plugin/agent (hack/manifests.sh
// reads ./controllers/node/...).
package node
