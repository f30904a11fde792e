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
	"context"
	"errors"

	"github.com/go-logr/logr"
	"golang.org/x/sys/unix"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	utilexec "k8s.io/utils/exec"

	"github.com/plinth-dev/plinth/csi-driver/backend"
	"github.com/plinth-dev/plinth/csi-driver/internal/mountinfo"
)

// How and when filesystems grow, and why the driver reads their size where
// k8s.io/mount-utils does not, is explained in the package documentation.

// e2fsckErrorsCorrected is e2fsck's exit status for "errors found and fixed".
const e2fsckErrorsCorrected = 1

// needsGrowth reports whether device is larger than its filesystem of format
// by more than the resize tools would use. A superblock the driver cannot
// read is an error: the driver never resizes what it does not recognise.
func needsGrowth(device, format string) (bool, error) {
	g, err := readGeometry(device, format)
	if err != nil {
		return false, err
	}
	size, err := deviceSize(device)
	if err != nil {
		return false, err
	}
	return g.needsGrowth(size), nil
}

// growBeforeMount grows an ext filesystem on the unmounted device when the
// device outgrew it, and reports whether an XFS filesystem is left to grow
// once mounted. A blank device is left to the formatter, which uses all of
// it; a read-only stage or an unknown filesystem is left untouched.
func (s *NodeServer) growBeforeMount(ctx context.Context, device string, readOnly bool) (growXFS bool, err error) {
	if readOnly {
		return false, nil
	}
	format, err := s.d.mounter.GetDiskFormat(device)
	if err != nil {
		return false, status.Errorf(codes.Internal, "failed to detect the filesystem on %s: %v", device, err)
	}
	if !isExtFormat(format) && format != fsXFS {
		return false, nil
	}
	grow, err := s.offlineGrowthNeeded(ctx, device, format)
	if err != nil || !grow || format == fsXFS {
		return grow, err
	}
	return false, s.growExtOffline(ctx, device)
}

// offlineGrowthNeeded reports whether the filesystem on device needs to grow
// and is not mounted anywhere, which would rule out offline tools.
func (s *NodeServer) offlineGrowthNeeded(ctx context.Context, device, format string) (bool, error) {
	grow, err := needsGrowth(device, format)
	if err != nil {
		return false, status.Errorf(codes.Internal, "failed to compare the filesystem on %s with its device: %v", device, err)
	}
	if !grow {
		return false, nil
	}
	mounts, _, err := mountinfo.ByDevice(device)
	if err != nil {
		return false, status.Errorf(codes.Internal, "failed to check whether %s is mounted: %v", device, err)
	}
	if len(mounts) > 0 {
		logr.FromContextOrDiscard(ctx).Info("Not growing a filesystem mounted elsewhere at stage; NodeExpandVolume grows it", "device", device, "mounts", mounts)
		return false, nil
	}
	return true, nil
}

// growExtOffline runs the forced check resize2fs requires on an unmounted
// filesystem, then grows the filesystem to its device.
func (s *NodeServer) growExtOffline(ctx context.Context, device string) error {
	if err := s.checkExt(device); err != nil {
		return err
	}
	if _, err := s.d.resizer.Resize(device, ""); err != nil {
		return status.Errorf(codes.Internal, "failed to grow the unmounted filesystem on %s: %v", device, err)
	}
	logr.FromContextOrDiscard(ctx).Info("Grew filesystem before mounting it", "device", device)
	return nil
}

// checkExt runs e2fsck in preen mode, which repairs only what is safe to
// repair unattended, forcing a full check as resize2fs demands.
func (s *NodeServer) checkExt(device string) error {
	out, err := s.d.mounter.Exec.Command("e2fsck", "-f", "-p", device).CombinedOutput()
	var exitErr utilexec.ExitError
	if err == nil || errors.As(err, &exitErr) && exitErr.ExitStatus() == e2fsckErrorsCorrected {
		return nil
	}
	return status.Errorf(codes.Internal, "e2fsck of %s before growing it failed, the filesystem needs repair by hand: %v: %s", device, err, out)
}

// growAfterMount grows the XFS filesystem mounted at path. On failure it
// unmounts path, so that a retried NodeStageVolume grows it again.
func (s *NodeServer) growAfterMount(ctx context.Context, device, path string) error {
	_, err := s.d.resizer.Resize(device, path)
	if err == nil {
		logr.FromContextOrDiscard(ctx).Info("Grew filesystem after mounting it", "device", device, "path", path)
		return nil
	}
	if uerr := s.unmount(path); uerr != nil {
		logr.FromContextOrDiscard(ctx).Error(uerr, "Failed to unmount after a failed growth", "path", path)
	}
	return status.Errorf(codes.Internal, "failed to grow the filesystem on %s at staging_target_path: %v", device, err)
}

// onlineGrowthNeeded reports whether the mounted filesystem of format on
// device needs to grow, and fails with FailedPrecondition when it does but
// cannot grow while mounted.
func onlineGrowthNeeded(volumeID backend.VolumeID, device, format string) (bool, error) {
	switch {
	case format == fsXFS:
		// xfs_growfs skips a filesystem that already fills its device.
		return true, nil
	case isExtFormat(format):
		grow, err := needsGrowth(device, format)
		if err != nil {
			return false, status.Errorf(codes.Internal, "failed to compare the filesystem of volume_id %s with its device: %v", volumeID, err)
		}
		if grow && !hasCapability(unix.CAP_SYS_RESOURCE) {
			return false, status.Errorf(codes.FailedPrecondition,
				"volume_id %s: growing a mounted %s filesystem needs CAP_SYS_RESOURCE, which the driver lacks; "+
					"the filesystem keeps its current size and grows when the volume is next staged", volumeID, format)
		}
		return grow, nil
	default:
		return false, status.Errorf(codes.Internal, "volume_id %s: cannot grow filesystem %q on %s", volumeID, format, device)
	}
}

// hasCapability reports whether the process has capability c in its
// effective set.
func hasCapability(c int) bool {
	hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
	var data [2]unix.CapUserData
	if err := unix.Capget(&hdr, &data[0]); err != nil {
		return false
	}
	return data[c/32].Effective&(1<<(uint(c)%32)) != 0
}
