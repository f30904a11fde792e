// Package snapshot is the common snapshot controller of the standard
// snapshot.storage.k8s.io/v1 API, the part upstream's snapshot-controller
// does: it binds each VolumeSnapshot to a VolumeSnapshotContent (creating
// the content for a dynamic snapshot of a claim, checking the reference of
// a pre-provisioned one), mirrors the content's status into the snapshot,
// and applies the deletion policy when a snapshot is deleted. The physical
// snapshot is cut by the content controller (package snapshotcontent) on
// the node that holds the source volume.
//
// It uses the upstream finalizers, annotations and names, so that backup
// tools written for the standard API work unchanged, and it can be
// switched off where the cluster already runs upstream's controller.
package snapshot
