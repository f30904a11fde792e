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

package driver

import (
	"errors"
	"fmt"

	"golang.org/x/sys/unix"
)

// bindReadOnly bind-mounts source at target read-only from the moment the
// mount exists.
//
// Kubelet's directory is a shared mount that plinth-node's container
// propagates back to the host (Bidirectional), where kubelet and the
// container runtime see a copy of every target the driver mounts. A bind
// mount followed by a read-only remount, as mount(8) and mount-utils do it,
// propagates the bind while it is still writable, and the remount changes
// the container's copy alone: the host's copy of the target stays writable.
// A detached clone of source, made read-only before it is attached,
// propagates read-only. Kernels before 5.12 lack mount_setattr; there the
// remount is all there is.
func (s *NodeServer) bindReadOnly(source, target string) error {
	err := attachReadOnlyClone(source, target)
	if !errors.Is(err, unix.ENOSYS) {
		return err
	}
	if err := s.d.mounter.Mount(source, target, "", []string{"bind", "ro"}); err != nil {
		return fmt.Errorf("failed to bind-mount %s read-only: %w", source, err)
	}
	return nil
}

// attachReadOnlyClone clones the mount at source (not the mounts below it,
// as a bind mount does), makes the clone read-only and attaches it at target.
func attachReadOnlyClone(source, target string) error {
	fd, err := unix.OpenTree(unix.AT_FDCWD, source, unix.OPEN_TREE_CLONE|unix.OPEN_TREE_CLOEXEC)
	if err != nil {
		return fmt.Errorf("failed to clone the mount at %s: %w", source, err)
	}
	defer func() { _ = unix.Close(fd) }()
	attr := &unix.MountAttr{Attr_set: unix.MOUNT_ATTR_RDONLY}
	if err := unix.MountSetattr(fd, "", unix.AT_EMPTY_PATH, attr); err != nil {
		return fmt.Errorf("failed to make the clone of %s read-only: %w", source, err)
	}
	if err := unix.MoveMount(fd, "", unix.AT_FDCWD, target, unix.MOVE_MOUNT_F_EMPTY_PATH); err != nil {
		return fmt.Errorf("failed to attach the clone of %s at %s: %w", source, target, err)
	}
	return nil
}
