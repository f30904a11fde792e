// Package snapshotcontent is the node side of snapshots, the part
// upstream's csi-snapshotter sidecar does: for each VolumeSnapshotContent
// whose source volume lives on this node it calls CreateSnapshot on the
// node's driver (which freezes the filesystem and cuts a reflink copy),
// records the result in the content's status, and calls DeleteSnapshot when
// a content under the Delete policy goes away.
//
// The being-created annotation is set before CreateSnapshot and removed only
// once the outcome is recorded, and the node's cleanup finalizer is on the
// content before the call: a crash at any point leaves enough on the content
// to find the physical snapshot again (CreateSnapshot is idempotent by name)
// and delete it if its content is deleted meanwhile.
package snapshotcontent
