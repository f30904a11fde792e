package snapshot

import (
	snapshotv1 "github.com/kubernetes-csi/external-snapshotter/client/v8/apis/volumesnapshot/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// Finalizers and annotations of the upstream snapshot contract.
const (
	// FinalizerContentBound keeps a content while a snapshot is bound to it.
	FinalizerContentBound = "snapshot.storage.kubernetes.io/volumesnapshotcontent-bound-protection"
	// FinalizerSnapshotBound keeps a snapshot until its content was dealt
	// with according to the deletion policy.
	FinalizerSnapshotBound = "snapshot.storage.kubernetes.io/volumesnapshot-bound-protection"
	// FinalizerSnapshotAsSource keeps a snapshot while a claim is being
	// restored from it.
	FinalizerSnapshotAsSource = "snapshot.storage.kubernetes.io/volumesnapshot-as-source-protection"
	// FinalizerClaimAsSource keeps a claim while a snapshot of it is cut.
	FinalizerClaimAsSource = "snapshot.storage.kubernetes.io/pvc-as-source-protection"
	// AnnBeingCreated is set on a content before CreateSnapshot and removed
	// once the call succeeded or failed for good: while it is there, a
	// physical snapshot may exist that the content does not record yet.
	AnnBeingCreated = "snapshot.storage.kubernetes.io/volumesnapshot-being-created"
	// FinalizerNodeCleanup keeps a content until the node holding its
	// snapshot has deleted (Delete policy) or let go of (Retain) it.
	FinalizerNodeCleanup = "storage.plinth.dev/snapshot-cleanup"
	// AnnBeingDeleted is set on a content whose snapshot is being deleted
	// under the Delete policy.
	AnnBeingDeleted = "snapshot.storage.kubernetes.io/volumesnapshot-being-deleted"
	// AnnDefaultClass marks the default VolumeSnapshotClass of a driver.
	AnnDefaultClass = "snapshot.storage.kubernetes.io/is-default-class"
)

// AnnNode names, on a content, the node whose pool holds the snapshot (the
// node of the source volume); the content controller of that node cuts it.
const AnnNode = "storage.plinth.dev/node"

// ContentName is the name of the content of a dynamic snapshot.
func ContentName(snapshotUID string) string {
	return "snapcontent-" + snapshotUID
}

// PhysicalName is the CSI name of the physical snapshot of a content bound
// to the snapshot with the given UID.
func PhysicalName(snapshotUID string) string {
	return "snapshot-" + snapshotUID
}

// IsReady reports whether a snapshot is ready to use.
func IsReady(s *snapshotv1.VolumeSnapshot) bool {
	return s.Status != nil && ptr.Deref(s.Status.ReadyToUse, false)
}

// lockedMerge is the patch for finalizer changes: a merge patch replaces
// the whole finalizer list, so it must not apply over a newer list than the
// one it was computed from (another controller's finalizer would be lost).
func lockedMerge(base client.Object) client.Patch {
	return client.MergeFromWithOptions(base, client.MergeFromWithOptimisticLock{})
}
