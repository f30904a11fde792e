// Package capacity publishes, for one node, a CSIStorageCapacity object per
// StorageClass of the driver: how much the node's pool can still give a new
// volume of that class, and the largest volume it can hold. kube-scheduler
// reads them (when the CSIDriver object has storageCapacity: true) and
// never sends a pod to a node whose pool cannot hold its volume.
//
// Publishing is event-driven: a change of a class, of a PV on this node or of
// a snapshot content refreshes the numbers at once, and a periodic resync
// catches whatever happens outside the API (such as a pool filling up with
// data written into volumes). Objects are owned by their Node, so the garbage
// collector removes them with it.
package capacity
