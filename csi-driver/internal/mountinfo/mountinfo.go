/*
Copyright 2026 The Plinth Authors.

Licensed under the Apache License, Version 2.0 (the "License");
you may not use this file except in compliance with the License.
You may obtain a copy of the License at

    http://www.apache.org/licenses/LICENSE-2.0

Unless required by applicable law or agreed to in writing, software
distributed under the License is distributed on an "AS IS" BASIS,
WITHOUT WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
See the License for the specific language governing permissions and
limitations under the License.
*/

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
