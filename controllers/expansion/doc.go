// Package expansion grows volumes when their claims ask for more: the work
// of the upstream external-resizer sidecar. It runs in plinth-node for the
// PVs of this node's pool: when a bound claim's request exceeds its PV's
// capacity (kube-apiserver has already checked that the StorageClass allows
// expansion), it calls ControllerExpandVolume, records the new size in the
// PV, and leaves the filesystem growth to the kubelet's NodeExpandVolume,
// reporting progress in the claim's status as upstream does
// (allocatedResources, allocatedResourceStatuses and the Resizing and
// FileSystemResizePending conditions).
package expansion
