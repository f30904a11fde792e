// Package plugin assembles the node plugin that plinth-node runs: the pool
// backend, the CSI driver on its unix socket, the kubelet registration socket
// and the metrics endpoint, all stopped together when the context ends.
package plugin
