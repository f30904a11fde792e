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

// Package storagepool keeps, for one node, the StoragePool object that
// describes the node's volume pool: where it is, which filesystem it is on
// and whether that filesystem shares extents (reflink), so that snapshots
// and clones are instant; how large and how full it is, what new volumes may
// still be given, how many volumes and snapshots it holds, and whether the
// driver finds it healthy.
//
// The reconciler runs in plinth-node, one per node, and writes only the
// StoragePool named after its node. The figures come from two places: the
// filesystem (pool.Info: statfs and a reflink probe) and the node's CSI
// driver (Probe for the Ready condition, GetCapacity for what is available,
// ListVolumes and ListSnapshots for the counts), so the object shows what the
// driver itself reports to Kubernetes.
//
// Refreshing is event-driven: a change of a PV or a snapshot content of the
// driver refreshes the pool at once, and a periodic resync catches what
// happens outside the API, such as data written into volumes. The object is
// owned by its Node, so the garbage collector removes it with the node.
package storagepool
