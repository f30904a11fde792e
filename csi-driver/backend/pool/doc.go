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
// JSON file exists. Data is written first under a temporary name and renamed
// into place; the metadata is then written to a temporary file, fsynced and
// renamed, and the directory fsynced. Deletion removes the metadata first.
// New rebuilds all state by scanning the pool, removing temporary files and
// data files without metadata, which are the leftovers of a crash between
// two steps. There is no single state file to corrupt.
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
package pool
