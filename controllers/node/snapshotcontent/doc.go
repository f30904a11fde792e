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
