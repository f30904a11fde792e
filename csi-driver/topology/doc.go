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

// Package topology follows the zone and region labels of the Kubernetes Node
// plinth-node runs on, so that StorageClasses can use allowedTopologies on
// zones as well as on nodes.
//
// A Node is the one source of the node's topology in plinth-node: the
// driver's NodeGetInfo, CreateVolume and GetCapacity, the provisioner and
// the capacity publisher all read it, and the kubelet registration, the
// capacity publisher and the topology notice subscribe to its changes. It
// is fed by an informer on Nodes (plinth-node shares its manager's), so a
// label added, changed or removed while plinth-node runs reaches all of
// them without a restart.
//
// Volumes keep the topology they were provisioned with: a PV's node
// affinity is immutable. A zone or region label changed or removed while
// volumes exist therefore leaves those PVs pinned to the old value; Admits
// tells which PVs a node's topology no longer satisfies.
package topology
