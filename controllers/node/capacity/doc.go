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

// Package capacity publishes, for one node, a CSIStorageCapacity object per
// StorageClass of the driver: how much the node's pool can still give a new
// volume of that class, and the largest volume it can hold. kube-scheduler
// reads them (when the CSIDriver object has storageCapacity: true) and
// never sends a pod to a node whose pool cannot hold its volume.
//
// Publishing is event-driven: a change of a class or of the node's topology
// refreshes the numbers at once; a change of a PV on this node or of a
// snapshot content cut on it does so a second later, so that a burst of
// volumes costs one write per class rather than one per volume; a periodic
// resync catches whatever happens outside the API (such as a pool filling
// up with data written into volumes). Objects are owned by their Node, so
// the garbage collector removes them with it.
package capacity
