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

// Package orphans sweeps a node's pool for volumes that nothing in the API
// refers to any more, the safety net behind the provisioner's durable
// intent and the kubelet's unpublish.
//
// Periodically, plinth-node lists its driver's volumes (CSI ListVolumes)
// and sets aside those that a PersistentVolume records or that an existing
// claim may still get (the ID recorded with the provisioner's intent, or
// the one the driver derives from the claim's volume name). What is left,
// once it has stayed so for a grace period, is an orphan: it is reported,
// as a Warning Event on the Node and in the plinth_orphaned_volumes gauge.
// An orphan is deleted only when it is provably ours and orphaned: the
// provisioner gave up deleting it when its claim went away (the Ledger),
// so no PV ever recorded it. The Ledger is a file in the driver's plugin
// directory (abandoned-volumes.json next to the CSI socket), written
// before the provisioner lets such a claim go, so a restart of plinth-node
// keeps the record; volumes gone from the pool are pruned from it. Anything else (a volume kept by the Retain
// policy whose PV an admin deleted, a volume made through CSI by hand) is
// only reported: deleting it would lose data somebody may want.
//
// Inline ephemeral volumes belong to their pods, and kubelet unpublishes
// them when a pod goes. When kubelet forgets (its state lost, a pod
// force-deleted while the node was away), the sweep finds the inline
// volumes of this driver under the kubelet's pods directory whose pod no
// longer runs on this node, and unpublishes them as kubelet would, through
// CSI NodeUnpublishVolume, once the grace period has passed: the driver
// then deletes their backing volumes.
package orphans
