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

// Package uninstall is `plinth-controller uninstall`, the Helm chart's
// pre-delete hook. Deleting the DaemonSet alone would leave every node as
// Plinth made it: the CNI configuration (so new pods would still get
// addresses from a plugin nobody runs), the plugin binaries, the nftables
// table and routes, the IPAM state and the empty pool, plus the API objects
// the nodes publish. A pre-delete hook runs while all of Plinth, its RBAC
// included, still exists:
//
//  1. it annotates the plinth-node DaemonSet (wellknown.UninstallAnnotation);
//     each plinth-node watches its DaemonSet, stops its controllers and
//     network agent, removes what it installed on its node and its
//     StoragePool and CSIStorageCapacity objects, and annotates its own pod
//     (wellknown.NodeCleanedAnnotation);
//  2. it waits for every running plinth-node pod to say so, up to a
//     timeout: a node that is down cannot answer, and must not block the
//     uninstall, so the hook names such nodes and how to clean them by hand
//     instead of failing;
//  3. it deletes what no node removed (capacity objects of deleted classes,
//     pools of nodes that are gone) and the topology labels the kubelet
//     copied onto the Nodes from the driver.
//
// The CRDs, and volumes kept by a Retain policy, stay, as documented.
package uninstall
