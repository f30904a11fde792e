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

// Package pool is the default Plinth storage backend: volumes are sparse
// files in a pool directory on the node.
//
// Layout of the pool directory:
//
//	volumes/vol-<id>.img     the volume's data, a sparse file
//	volumes/vol-<id>.json    the volume's metadata
//	snapshots/snap-<id>.img  a snapshot's data
//	snapshots/snap-<id>.json a snapshot's metadata
//
// The metadata file is the commit record: an object exists exactly when its
// JSON file exists. Data is written first, then the metadata, each with the
// module's internal/atomicfile: to a temporary file, fsynced and renamed into
// place, and the directory fsynced. Deletion removes the metadata first. New
// rebuilds all state by scanning the pool, removing temporary files and data
// files without metadata, which are the leftovers of a crash between two
// steps. There is no single state file to corrupt.
//
// Only CreateVolume and CreateSnapshot check an ID's format, where it
// becomes a file name; the driver has parsed every ID at its gRPC edge, and
// every later call looks the object up by its ID.
//
// Snapshots and clones are reflink copies (the FICLONE ioctl) on filesystems
// that share extents (XFS with reflink=1, btrfs): O(1) whatever the size.
// Elsewhere a sparse-aware copy (SEEK_DATA/SEEK_HOLE with copy_file_range)
// copies only the allocated ranges. The snapshot of a volume whose filesystem
// is mounted is taken with that filesystem frozen (FIFREEZE/FITHAW), so the
// snapshot is clean rather than merely crash-consistent.
//
// The freeze lasts as long as the copy: milliseconds with reflinks, but about
// two seconds per GiB of data with the copy fallback, during which writers to
// the volume block. Pools meant for snapshots should therefore be XFS
// (reflink=1, the mkfs.xfs default) or btrfs. A copy runs as a job that
// outlives the call which started it: when a slow copy outlasts the CO's RPC
// timeout, the CO's retry joins the running copy instead of restarting it.
//
// On the node, a volume is attached as a loop device. Expanding an attached
// volume grows the file and refreshes the loop device's size online.
//
// A volume's device is found by the identity of its file, the device and
// inode numbers that stat reports and LOOP_GET_STATUS64 returns for every
// bound loop device, never by the file's path: the kernel reports a backing
// file's path as seen from the mount namespace that attached it, or relative
// to the pool's mount once that namespace is gone. plinth-node runs in a
// container, and each restart of the container is a new mount namespace;
// matching paths would lose track of every device attached before it.
//
// Loop devices are driven by ioctls rather than losetup: LOOP_CTL_GET_FREE
// and LOOP_CONFIGURE attach in one call (Linux 5.8 or later), retrying a
// bounded number of times when another process takes the free device first;
// LOOP_CLR_FD detaches; LOOP_SET_CAPACITY refreshes the size. Devices are
// attached without the autoclear flag, so they outlive plinth-node restarts.
// A device is found, then used, through one open file descriptor, and an
// open device cannot change its backing file: the kernel defers any detach
// to the last close. Attach reuses the device a volume has, cancelling a
// deferred detach and growing it to its file. DeleteVolume detaches a device
// nothing has mounted; one mounted in any mount namespace (which an exclusive
// open detects) or bind-mounted as a block volume is in use.
package pool
