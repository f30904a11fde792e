// Package storagepool keeps, for one node, the StoragePool object that
// describes the node's volume pool: where it is, which filesystem it is on
// and whether that filesystem shares extents (reflink), so that snapshots
// and clones are instant; how large and how full it is, what new volumes may
// still be given, how many volumes and snapshots it holds, and whether the
// driver finds it healthy.
//
// The reconciler runs in plinth-node, one per node, and writes only the
// StoragePool named after its node. The figures come from two places: the
// filesystem (pool.Info: statfs and a reflink probe) and the node's CSI
// driver (Probe for the Ready condition, GetCapacity for what is available,
// ListVolumes and ListSnapshots for the counts), so the object shows what the
// driver itself reports to Kubernetes.
//
// Refreshing is event-driven: a change of a PV or a snapshot content of the
// driver refreshes the pool at once, and a periodic resync catches what
// happens outside the API, such as data written into volumes. The object is
// owned by its Node, so the garbage collector removes it with the node.
package storagepool
