// Package mountinfo finds the mounts of a block device in the mount table of
// the calling process, including bind mounts of the device node itself (how
// block volumes are published).
package mountinfo
