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

// Package storagenode runs plinth-node in-process for a simulated node of
// the local control plane: a real loop-mounted pool, the real CSI driver on
// its unix socket and the real node controllers. Since simulated nodes run
// no kubelet, it also plays the kubelet's plugin watcher on the driver's
// registration socket: each time plinth-node creates the socket (at start,
// and again when the node's topology changes) it calls GetInfo and
// NodeGetInfo and does what the kubelet does when the driver registers
// (label the Node with the driver's topology keys and list the driver in
// the node's CSINode: RegisterCSIDriver). A node can be stopped and started again
// on the same pool, as after a crash of the plinth-node process.
package storagenode
