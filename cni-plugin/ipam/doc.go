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

// Package ipam hands out pod addresses from the node's pod CIDRs and records
// them in an on-disk store.
//
// Every allocation is keyed by the attachment, the pair (container ID,
// interface name) that the CNI spec uses to identify a network attachment.
// Addresses are never looked up or released by pod name: a pod recreated
// under the same name gets a new container ID and so a new attachment.
//
// The store is a directory with one file per attachment. The file name holds
// the attachment's hash and its addresses, so that allocation only lists the
// directory; the content records the container ID and interface name, the
// pod the runtime named in CNI_ARGS and the time of the reservation
// (Reservations reads them; records written before the pod and time were
// kept read as an unknown pod), so that the node agent can release what a
// runtime that never called DEL left behind. A file is written to a temporary name, synced and renamed into
// place, so after a crash an attachment is either fully recorded or absent:
// there is no half-allocated state. All changes happen under an exclusive
// flock on the directory's lock file, which the kernel drops if the holder
// dies. A retried ADD for the same attachment gets the same addresses back;
// attachments whose ADD never completed are released by DEL or by GC, which
// keeps only the attachments the runtime lists as valid, or by the node
// agent's sweep (ReleaseUnchanged) once their pod is gone.
package ipam
