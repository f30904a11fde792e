// Package app assembles plinth-node: the CSI node plugin for the node's
// pool (package plugin), and a controller-runtime manager running the
// node-scoped controllers against that plugin's socket, exactly as the
// upstream sidecars would: the provisioner and deleter for the claims
// selected for this node, the snapshot content controller for the
// snapshots of this node's volumes, and the capacity publisher. Everything stops
// together when the context ends or any part fails.
package app
