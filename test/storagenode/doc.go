// Package storagenode runs plinth-node in-process for a simulated node of
// the local control plane: a real loop-mounted pool, the real CSI driver on
// its unix socket and the real node controllers. It also does what the
// kubelet would do when the driver registers (label the Node with the
// driver's topology keys and list the driver in the node's CSINode), since
// simulated nodes run no kubelet (hostrun.RegisterCSIDriver, shared with
// the process kubelet of package hostrun). A node can be stopped and started again
// on the same pool, as after a crash of the plinth-node process.
package storagenode
