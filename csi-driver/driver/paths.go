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
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"golang.org/x/sys/unix"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/plinth-dev/plinth/csi-driver/internal/mountinfo"
)

// confine checks a staging, target or volume path a node call gives in
// field and returns it cleaned. The path must be absolute and lie strictly
// inside the kubelet directory, and no component of it below that directory
// may be a symbolic link: the driver mounts, unmounts and removes only
// where the kubelet keeps its volumes, never somewhere a link points to.
// Components that do not exist yet are created by the call, as directories.
func (d *Driver) confine(field, path string) (string, error) {
	if err := required(field, path); err != nil {
		return "", err
	}
	if !filepath.IsAbs(path) {
		return "", status.Errorf(codes.InvalidArgument, "%s %q must be an absolute path", field, path)
	}
	clean := filepath.Clean(path)
	rel, err := filepath.Rel(d.kubeletDir, clean)
	if err != nil || rel == "." || !filepath.IsLocal(rel) {
		return "", status.Errorf(codes.InvalidArgument, "%s %q is not inside the kubelet directory %s", field, path, d.kubeletDir)
	}
	dir := d.kubeletDir
	for _, name := range strings.Split(rel, string(filepath.Separator)) {
		dir = filepath.Join(dir, name)
		info, err := os.Lstat(dir)
		if errors.Is(err, fs.ErrNotExist) {
			return clean, nil
		}
		if err != nil {
			return "", status.Errorf(codes.Internal, "failed to check %s %q: %v", field, path, err)
		}
		if info.Mode()&fs.ModeSymlink != 0 {
			return "", status.Errorf(codes.InvalidArgument, "%s %q: %s is a symbolic link", field, path, dir)
		}
	}
	return clean, nil
}

// mountedHere reports whether path is a mount point of device: of the
// filesystem on it, or of the device node itself. A path where
// something else is mounted, or anything at all when device is empty (the
// volume is not attached), is FailedPrecondition: the driver neither reuses
// nor unmounts what is not its volume's.
func (s *NodeServer) mountedHere(field, path, device string) (bool, error) {
	mounted, err := s.isMountPoint(path)
	if err != nil || !mounted {
		return false, err
	}
	if device == "" {
		return false, status.Errorf(codes.FailedPrecondition, "%s %s is a mount point, and the volume is not attached on this node", field, path)
	}
	filesystems, binds, err := mountinfo.ByDevice(device)
	if err != nil {
		return false, status.Errorf(codes.Internal, "failed to list mounts: %v", err)
	}
	if !slices.Contains(filesystems, path) && !slices.Contains(binds, path) {
		return false, status.Errorf(codes.FailedPrecondition, "%s %s is a mount point of something other than the volume's device %s", field, path, device)
	}
	return true, nil
}

// clearTarget unmounts the volume on device (empty when not attached) from
// target and removes target. A target where something else is mounted, or
// that holds anything but what the driver creates there, is left untouched.
func (s *NodeServer) clearTarget(target, device string) error {
	mounted, err := s.mountedHere("target_path", target, device)
	if err != nil {
		return err
	}
	if mounted {
		if err := s.d.mounter.Unmount(target); err != nil {
			return status.Errorf(codes.Internal, "failed to unmount target_path: %v", err)
		}
	}
	return removeTarget(target)
}

// removeTarget removes what the driver creates at a target path: an empty
// directory, or the empty file a block volume is bind-mounted over. A
// missing target is fine; anything else is left in place.
func removeTarget(target string) error {
	info, err := os.Lstat(target)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil
	case err != nil:
		return status.Errorf(codes.Internal, "failed to check target_path: %v", err)
	case info.IsDir():
		err = unix.Rmdir(target)
	case info.Mode().IsRegular() && info.Size() == 0:
		err = unix.Unlink(target)
	default:
		return status.Errorf(codes.FailedPrecondition, "target_path %s is not what the driver creates there, an empty directory or file; leaving it", target)
	}
	if errors.Is(err, unix.ENOTEMPTY) || errors.Is(err, unix.EEXIST) {
		return status.Errorf(codes.FailedPrecondition, "target_path %s is a directory that is not empty; leaving it", target)
	}
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return status.Errorf(codes.Internal, "failed to remove target_path: %v", err)
	}
	return nil
}

// isMountPoint reports whether path is a mount point; a missing path is not.
func (s *NodeServer) isMountPoint(path string) (bool, error) {
	mounted, err := s.d.mounter.IsMountPoint(path)
	if os.IsNotExist(err) {
		return false, nil
	}
	if err != nil {
		return false, status.Errorf(codes.Internal, "failed to check mount point %s: %v", path, err)
	}
	return mounted, nil
}
