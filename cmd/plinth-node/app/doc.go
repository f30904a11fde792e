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

// Package app assembles plinth-node: the CSI node plugin for the node's
// pool (package plugin), and a controller-runtime manager running the
// node-scoped controllers against that plugin's socket, exactly as the
// upstream sidecars would: the provisioner and deleter for the claims
// selected for this node, the snapshot content controller for the
// snapshots of this node's volumes, and the capacity publisher. Everything stops
// together when the context ends or any part fails.
//
// The node's topology (its zone and region labels) is watched once, through
// the manager's Node informer, and shared by the driver, the kubelet
// registration, the provisioner and the capacity publisher, so a label
// added, changed or removed while plinth-node runs reaches them all: new
// volumes and the CSIStorageCapacity objects get the new topology, and the
// driver registers with the kubelet again. Existing PVs keep the node
// affinity they were provisioned with (it is immutable); when the node no
// longer satisfies it, a Warning Event on the Node names them.
package app
