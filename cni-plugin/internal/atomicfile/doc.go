// Package atomicfile replaces files so that readers, and the file system
// after a crash, see either the old or the new content, never a mix. The IPAM
// store records allocations with it; the node agent writes the conflist, the
// plugin binary and its state file with it, and creates the loopback plugin
// with it only where none exists.
package atomicfile
