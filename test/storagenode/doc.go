// Package storagenode runs plinth-node in-process for a simulated node of
// the local control plane: a real loop-mounted pool, the real CSI driver on
// its unix socket and the real node controllers. Since simulated nodes run
// no kubelet, it also plays the kubelet's plugin watcher on the driver's
// registration socket: each time plinth-node creates the socket (at start,
// and again when the node's topology changes) it calls GetInfo and
// NodeGetInfo and does what the kubelet does when the driver registers
// (label the Node with the driver's topology keys and list the driver in
// the node's CSINode: RegisterCSIDriver). A node can be stopped and started again
// on the same pool, as after a crash of the plinth-node process.
package storagenode
