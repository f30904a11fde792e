// Package testpool gives node tests a real, throw-away pool filesystem: a
// sparse image file formatted as XFS (with reflink) or ext4 and loop-mounted
// in a temporary directory. Everything is unmounted, detached and removed
// when the test ends, whether it passed or not.
package testpool
