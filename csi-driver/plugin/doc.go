// Package plugin assembles the node plugin that plinth-node runs: the pool
// backend, the CSI driver on its unix socket, the kubelet registration socket
// and the metrics endpoint, all stopped together when the context ends.
//
// Given the node's topology (package topology), the registration socket is
// served once the topology is known and served anew after each change, so
// that the kubelet registers the driver again and updates the CSINode's
// topology keys and the Node's topology labels (see package registration
// for what the kubelet does then).
package plugin
