package mountinfo

import (
	"fmt"
	"path/filepath"

	"golang.org/x/sys/unix"
	"k8s.io/mount-utils"
)

// table is the mount table ByDevice reads: the mounts visible to this process.
const table = "/proc/self/mountinfo"

// ByDevice returns the mount points of the filesystem on device and the
// targets the device node itself is bind-mounted to.
func ByDevice(device string) (filesystems, deviceBinds []string, err error) {
	var st unix.Stat_t
	if err := unix.Stat(device, &st); err != nil {
		return nil, nil, fmt.Errorf("failed to stat %s: %w", device, err)
	}
	infos, err := mount.ParseMountInfo(table)
	if err != nil {
		return nil, nil, fmt.Errorf("failed to read the mount table: %w", err)
	}
	major, minor := int(unix.Major(st.Rdev)), int(unix.Minor(st.Rdev))
	node := "/" + filepath.Base(device)
	for _, info := range infos {
		switch {
		case info.Major == major && info.Minor == minor:
			filesystems = append(filesystems, info.MountPoint)
		case info.FsType == "devtmpfs" && info.Root == node:
			deviceBinds = append(deviceBinds, info.MountPoint)
		}
	}
	return filesystems, deviceBinds, nil
}
