// Package config parses and validates the network configuration that the
// container runtime hands to plinth-cni on stdin.
//
// The configuration is one plugin entry of a conflist (usually
// 10-plinth.conflist, rendered by the node agent). Besides the standard CNI
// fields it names the node's pod CIDRs, the MTU of the pod interface and the
// directories the plugin keeps its state in. Parse rejects every invalid
// value with an error that names the offending JSON field, so that the
// runtime's CNI error (code 7, invalid network config) points the operator at
// the line to fix.
package config
