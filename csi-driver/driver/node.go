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
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"slices"

	"github.com/container-storage-interface/spec/lib/go/csi"
	"github.com/go-logr/logr"
	"golang.org/x/sys/unix"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/plinth-dev/plinth/csi-driver/backend"
	"github.com/plinth-dev/plinth/csi-driver/internal/mountinfo"
)

// NodeServer is the CSI Node service.
type NodeServer struct {
	csi.UnimplementedNodeServer
	d *Driver
}

var nodeCapabilities = []csi.NodeServiceCapability_RPC_Type{
	csi.NodeServiceCapability_RPC_STAGE_UNSTAGE_VOLUME,
	csi.NodeServiceCapability_RPC_GET_VOLUME_STATS,
	csi.NodeServiceCapability_RPC_EXPAND_VOLUME,
	csi.NodeServiceCapability_RPC_SINGLE_NODE_MULTI_WRITER,
	csi.NodeServiceCapability_RPC_GET_VOLUME_HEALTH,
	csi.NodeServiceCapability_RPC_GET_STORAGE_HEALTH,
}

// NodeGetCapabilities lists the node RPCs the driver implements.
func (s *NodeServer) NodeGetCapabilities(context.Context, *csi.NodeGetCapabilitiesRequest) (*csi.NodeGetCapabilitiesResponse, error) {
	caps := make([]*csi.NodeServiceCapability, 0, len(nodeCapabilities))
	for _, t := range nodeCapabilities {
		caps = append(caps, &csi.NodeServiceCapability{
			Type: &csi.NodeServiceCapability_Rpc{Rpc: &csi.NodeServiceCapability_RPC{Type: t}},
		})
	}
	return &csi.NodeGetCapabilitiesResponse{Capabilities: caps}, nil
}

// NodeGetInfo reports the node ID, the volume limit and the node's topology.
func (s *NodeServer) NodeGetInfo(ctx context.Context, _ *csi.NodeGetInfoRequest) (*csi.NodeGetInfoResponse, error) {
	seg, err := s.d.segments(ctx)
	if err != nil {
		return nil, status.Error(codes.Unavailable, err.Error())
	}
	return &csi.NodeGetInfoResponse{
		NodeId:             s.d.nodeID,
		MaxVolumesPerNode:  s.d.maxVolumes,
		AccessibleTopology: &csi.Topology{Segments: seg},
	}, nil
}

// NodeStageVolume attaches the volume and, for a filesystem volume, formats
// it when blank, grows its filesystem when the volume was expanded while
// unstaged, and mounts it at the staging path.
func (s *NodeServer) NodeStageVolume(ctx context.Context, req *csi.NodeStageVolumeRequest) (*csi.NodeStageVolumeResponse, error) {
	if err := required("volume_id", req.GetVolumeId()); err != nil {
		return nil, err
	}
	staging, err := s.d.confine("staging_target_path", req.GetStagingTargetPath())
	if err != nil {
		return nil, err
	}
	c := req.GetVolumeCapability()
	suidDev, err := s.checkMountRequest(c, req.GetVolumeContext())
	if err != nil {
		return nil, err
	}
	id, err := parseVolumeID("volume_id", req.GetVolumeId())
	if err != nil {
		return nil, err
	}
	unlock, err := s.d.lock(string(id))
	if err != nil {
		return nil, err
	}
	defer unlock()
	if _, err := s.d.backend.GetVolume(ctx, id); err != nil {
		return nil, toStatus(err)
	}
	device, err := s.d.backend.Attach(ctx, id)
	if err != nil {
		return nil, toStatus(err)
	}
	if c.GetBlock() != nil {
		return &csi.NodeStageVolumeResponse{}, nil
	}
	return &csi.NodeStageVolumeResponse{}, s.stageFilesystem(ctx, device, staging, c, suidDev)
}

// checkMountRequest checks the capability of a node call and its mount
// flags, and returns whether the volume's class allows suid and devices.
func (s *NodeServer) checkMountRequest(c *csi.VolumeCapability, volumeContext map[string]string) (bool, error) {
	if err := requiredCapability(c); err != nil {
		return false, err
	}
	suidDev, err := allowSuidAndDevices(volumeContext)
	if err != nil {
		return false, err
	}
	return suidDev, s.d.checkMountFlags("volume_capability", c, suidDev)
}

func (s *NodeServer) stageFilesystem(ctx context.Context, device, staging string, c *csi.VolumeCapability, suidDev bool) error {
	mounted, err := s.mountedHere("staging_target_path", staging, device)
	if err != nil || mounted {
		return err
	}
	if err := os.MkdirAll(staging, 0o750); err != nil {
		return status.Errorf(codes.Internal, "failed to create staging_target_path: %v", err)
	}
	fsType := s.d.fsTypeOf(c)
	options := mountOptions(c, fsType, suidDev)
	growXFS, err := s.growBeforeMount(ctx, device, slices.Contains(options, "ro"))
	if err != nil {
		return err
	}
	if err := s.d.mounter.FormatAndMount(device, staging, fsType, options); err != nil {
		return status.Errorf(codes.Internal, "failed to format and mount %s at staging_target_path: %v", device, err)
	}
	if growXFS {
		if err := s.growAfterMount(ctx, device, staging); err != nil {
			return err
		}
	}
	logr.FromContextOrDiscard(ctx).Info("Staged volume", "device", device, "path", staging, "fsType", fsType, "options", options)
	return nil
}

// NodeUnstageVolume unmounts the volume from the staging path and detaches
// it. The staging directory belongs to the CO and is left in place, as is
// anything mounted there that is not the volume.
func (s *NodeServer) NodeUnstageVolume(ctx context.Context, req *csi.NodeUnstageVolumeRequest) (*csi.NodeUnstageVolumeResponse, error) {
	if err := required("volume_id", req.GetVolumeId()); err != nil {
		return nil, err
	}
	staging, err := s.d.confine("staging_target_path", req.GetStagingTargetPath())
	if err != nil {
		return nil, err
	}
	id, err := parseVolumeID("volume_id", req.GetVolumeId())
	if err != nil {
		return nil, err
	}
	unlock, err := s.d.lock(string(id))
	if err != nil {
		return nil, err
	}
	defer unlock()
	_, err = s.d.backend.GetVolume(ctx, id)
	if errors.Is(err, backend.ErrNotFound) {
		return s.unstageUnknown(id, staging)
	}
	if err != nil {
		return nil, toStatus(err)
	}
	device, err := s.device(ctx, id)
	if err != nil {
		return nil, err
	}
	mounted, err := s.mountedHere("staging_target_path", staging, device)
	if err != nil {
		return nil, err
	}
	if mounted {
		if err := s.d.mounter.Unmount(staging); err != nil {
			return nil, status.Errorf(codes.Internal, "failed to unmount staging_target_path: %v", err)
		}
	}
	if err := s.d.backend.Detach(ctx, id); err != nil {
		return nil, toStatus(err)
	}
	return &csi.NodeUnstageVolumeResponse{}, nil
}

// unstageUnknown answers the unstage of a volume that does not exist: with
// nothing mounted at the staging path it is already unstaged; otherwise
// what is mounted there is not the volume's, and stays.
func (s *NodeServer) unstageUnknown(id backend.VolumeID, staging string) (*csi.NodeUnstageVolumeResponse, error) {
	mounted, err := s.isMountPoint(staging)
	if err != nil {
		return nil, err
	}
	if mounted {
		return nil, status.Errorf(codes.NotFound, "volume_id %s: no such volume; leaving what is mounted at staging_target_path %s", id, staging)
	}
	return &csi.NodeUnstageVolumeResponse{}, nil
}

// device returns the volume's device, or "" when it is not attached.
func (s *NodeServer) device(ctx context.Context, id backend.VolumeID) (string, error) {
	device, err := s.d.backend.Device(ctx, id)
	if errors.Is(err, backend.ErrNotAttached) {
		return "", nil
	}
	return device, toStatus(err)
}

// NodePublishVolume bind-mounts the staged filesystem, or the block device,
// at the target path, which it creates. An inline ephemeral volume, which is
// neither created nor staged beforehand, is created and mounted here.
func (s *NodeServer) NodePublishVolume(ctx context.Context, req *csi.NodePublishVolumeRequest) (*csi.NodePublishVolumeResponse, error) {
	if req.GetVolumeContext()[ephemeralContextKey] == "true" {
		return s.publishEphemeral(ctx, req)
	}
	if err := required("volume_id", req.GetVolumeId()); err != nil {
		return nil, err
	}
	paths, err := s.checkPublishRequest(req)
	if err != nil {
		return nil, err
	}
	id, err := parseVolumeID("volume_id", req.GetVolumeId())
	if err != nil {
		return nil, err
	}
	unlock, err := s.d.lock(string(id))
	if err != nil {
		return nil, err
	}
	defer unlock()
	if _, err := s.d.backend.GetVolume(ctx, id); err != nil {
		return nil, toStatus(err)
	}
	device, err := s.d.backend.Device(ctx, id)
	if errors.Is(err, backend.ErrNotAttached) {
		return nil, status.Errorf(codes.FailedPrecondition, "volume_id %s is not staged on this node", id)
	}
	if err != nil {
		return nil, toStatus(err)
	}
	if err := s.checkSingleWriter(id, req, paths, device); err != nil {
		return nil, err
	}
	return &csi.NodePublishVolumeResponse{}, s.publish(req, paths, device)
}

// publishPaths are the cleaned paths of a NodePublishVolume.
type publishPaths struct {
	target, staging string
}

func (s *NodeServer) checkPublishRequest(req *csi.NodePublishVolumeRequest) (publishPaths, error) {
	var p publishPaths
	var err error
	if p.target, err = s.d.confine("target_path", req.GetTargetPath()); err != nil {
		return p, err
	}
	if p.staging, err = s.d.confine("staging_target_path", req.GetStagingTargetPath()); err != nil {
		return p, err
	}
	_, err = s.checkMountRequest(req.GetVolumeCapability(), req.GetVolumeContext())
	return p, err
}

// checkSingleWriter refuses a second target for a SINGLE_NODE_SINGLE_WRITER volume.
func (s *NodeServer) checkSingleWriter(id backend.VolumeID, req *csi.NodePublishVolumeRequest, paths publishPaths, device string) error {
	if req.GetVolumeCapability().GetAccessMode().GetMode() != csi.VolumeCapability_AccessMode_SINGLE_NODE_SINGLE_WRITER {
		return nil
	}
	filesystems, binds, err := mountinfo.ByDevice(device)
	if err != nil {
		return status.Errorf(codes.Internal, "failed to list mounts: %v", err)
	}
	for _, m := range slices.Concat(filesystems, binds) {
		if m != paths.staging && m != paths.target {
			return status.Errorf(codes.FailedPrecondition, "volume_id %s is single-writer and already published at %s", id, m)
		}
	}
	return nil
}

func (s *NodeServer) publish(req *csi.NodePublishVolumeRequest, paths publishPaths, device string) error {
	target := paths.target
	readOnly := req.GetReadonly() || isReadOnlyMode(req.GetVolumeCapability())
	mounted, err := s.mountedHere("target_path", target, device)
	if err != nil {
		return err
	}
	if mounted {
		return s.checkPublished(target, readOnly)
	}
	block := req.GetVolumeCapability().GetBlock() != nil
	source, err := s.prepareTarget(paths, device, block)
	if err != nil {
		return err
	}
	if readOnly {
		err = s.bindReadOnly(source, target)
	} else {
		err = s.d.mounter.Mount(source, target, "", []string{"bind"})
	}
	if err != nil {
		return status.Errorf(codes.Internal, "failed to bind-mount %s at target_path: %v", source, err)
	}
	return nil
}

// prepareTarget creates the target, a file for a block volume and a
// directory otherwise, and returns what to bind-mount there: the device, or
// the staging path once checkStaged has found the volume there.
func (s *NodeServer) prepareTarget(paths publishPaths, device string, block bool) (string, error) {
	if block {
		return device, createFile(paths.target)
	}
	if err := s.checkStaged(paths.staging, device); err != nil {
		return "", err
	}
	if err := os.MkdirAll(paths.target, 0o750); err != nil {
		return "", status.Errorf(codes.Internal, "failed to create target_path: %v", err)
	}
	return paths.staging, nil
}

// checkStaged requires the volume's filesystem at the staging path, which
// publish bind-mounts: never whatever else may be there.
func (s *NodeServer) checkStaged(staging, device string) error {
	staged, err := s.mountedHere("staging_target_path", staging, device)
	if err != nil {
		return err
	}
	if !staged {
		return status.Errorf(codes.FailedPrecondition, "staging_target_path %s: the volume is not staged there", staging)
	}
	return nil
}

// checkPublished accepts a repeated publish only when the existing mount at
// target has the requested read-only setting.
func (s *NodeServer) checkPublished(target string, readOnly bool) error {
	mounts, err := s.d.mounter.List()
	if err != nil {
		return status.Errorf(codes.Internal, "failed to list mounts: %v", err)
	}
	for _, m := range mounts {
		if m.Path == target && slices.Contains(m.Opts, "ro") != readOnly {
			return status.Errorf(codes.AlreadyExists, "target_path %s is already published with readonly=%v", target, !readOnly)
		}
	}
	return nil
}

func createFile(path string) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
		return status.Errorf(codes.Internal, "failed to create the parent directory of target_path: %v", err)
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDONLY|unix.O_NOFOLLOW, 0o600)
	if err != nil {
		return status.Errorf(codes.Internal, "failed to create target_path: %v", err)
	}
	if err := f.Close(); err != nil {
		return status.Errorf(codes.Internal, "failed to close target_path: %v", err)
	}
	return nil
}

// NodeUnpublishVolume unmounts the volume from the target path and removes
// the path. For an inline ephemeral volume it also detaches and deletes the
// backing volume. It unmounts only the volume's own device and removes only
// what the driver creates at a target. For a volume that does not exist it
// touches nothing: an ID not in the driver's format is NotFound; for one
// that is, a missing target is already unpublished, any other NotFound.
func (s *NodeServer) NodeUnpublishVolume(ctx context.Context, req *csi.NodeUnpublishVolumeRequest) (*csi.NodeUnpublishVolumeResponse, error) {
	if err := required("volume_id", req.GetVolumeId()); err != nil {
		return nil, err
	}
	target, err := s.d.confine("target_path", req.GetTargetPath())
	if err != nil {
		return nil, err
	}
	vol, err := parseNodeVolumeID("volume_id", req.GetVolumeId())
	if err != nil {
		return nil, err
	}
	unlock, err := s.d.lock(string(vol.id))
	if err != nil {
		return nil, err
	}
	defer unlock()
	_, err = s.d.backend.GetVolume(ctx, vol.id)
	if errors.Is(err, backend.ErrNotFound) {
		return unpublishUnknown(req.GetVolumeId(), target)
	}
	if err != nil {
		return nil, toStatus(err)
	}
	device, err := s.device(ctx, vol.id)
	if err != nil {
		return nil, err
	}
	if err := s.clearTarget(target, device); err != nil {
		return nil, err
	}
	if vol.handle != "" {
		if err := s.deleteEphemeral(ctx, vol); err != nil {
			return nil, err
		}
	}
	return &csi.NodeUnpublishVolumeResponse{}, nil
}

// unpublishUnknown answers the unpublish of a volume that does not exist.
func unpublishUnknown(id, target string) (*csi.NodeUnpublishVolumeResponse, error) {
	if _, err := os.Lstat(target); errors.Is(err, fs.ErrNotExist) {
		return &csi.NodeUnpublishVolumeResponse{}, nil
	}
	return nil, status.Errorf(codes.NotFound, "volume_id %s: no such volume; leaving target_path %s untouched", id, target)
}

// NodeGetVolumeStats reports the usage of a published or staged volume,
// inline ephemeral volumes included.
func (s *NodeServer) NodeGetVolumeStats(ctx context.Context, req *csi.NodeGetVolumeStatsRequest) (*csi.NodeGetVolumeStatsResponse, error) {
	if err := required("volume_id", req.GetVolumeId()); err != nil {
		return nil, err
	}
	if err := required("volume_path", req.GetVolumePath()); err != nil {
		return nil, err
	}
	nv, err := parseNodeVolumeID("volume_id", req.GetVolumeId())
	if err != nil {
		return nil, err
	}
	vol, err := s.d.backend.GetVolume(ctx, nv.id)
	if err != nil {
		return nil, toStatus(err)
	}
	// A volume is published only inside the kubelet directory: elsewhere
	// the volume is not found, and the path is never looked at.
	path, err := s.d.confine("volume_path", req.GetVolumePath())
	if err != nil {
		return nil, status.Errorf(codes.NotFound, "volume_id %s is not at volume_path: %v", nv.id, status.Convert(err).Message())
	}
	info, err := os.Stat(path)
	if os.IsNotExist(err) {
		return nil, status.Errorf(codes.NotFound, "volume_path %s does not exist", path)
	}
	if err != nil {
		return nil, status.Errorf(codes.Internal, "failed to stat volume_path: %v", err)
	}
	if info.Mode()&os.ModeDevice != 0 {
		return &csi.NodeGetVolumeStatsResponse{Usage: []*csi.VolumeUsage{{Unit: csi.VolumeUsage_BYTES, Total: vol.CapacityBytes}}}, nil
	}
	return filesystemStats(path)
}

func filesystemStats(path string) (*csi.NodeGetVolumeStatsResponse, error) {
	var st unix.Statfs_t
	if err := unix.Statfs(path, &st); err != nil {
		return nil, status.Errorf(codes.Internal, "failed to statfs volume_path: %v", err)
	}
	bsize := uint64(max(st.Bsize, 0))
	return &csi.NodeGetVolumeStatsResponse{Usage: []*csi.VolumeUsage{
		{
			Unit:      csi.VolumeUsage_BYTES,
			Total:     clampInt64(st.Blocks * bsize),
			Available: clampInt64(st.Bavail * bsize),
			Used:      clampInt64((st.Blocks - st.Bfree) * bsize),
		},
		{
			Unit:      csi.VolumeUsage_INODES,
			Total:     clampInt64(st.Files),
			Available: clampInt64(st.Ffree),
			Used:      clampInt64(st.Files - st.Ffree),
		},
	}}, nil
}

// clampInt64 converts a filesystem counter to the int64 CSI uses.
func clampInt64(n uint64) int64 {
	return int64(min(n, math.MaxInt64))
}

// NodeGetVolumeHealth reports backend problems and a filesystem volume that
// should be mounted but is not.
func (s *NodeServer) NodeGetVolumeHealth(ctx context.Context, req *csi.NodeGetVolumeHealthRequest) (*csi.NodeGetVolumeHealthResponse, error) {
	id, err := parseVolumeID("volume_id", req.GetVolumeId())
	if err != nil {
		return nil, err
	}
	vol, err := s.d.backend.GetVolume(ctx, id)
	if err != nil {
		return nil, toStatus(err)
	}
	health := csiHealth(vol)
	for _, path := range []string{req.GetStagingTargetPath(), req.GetVolumePublishPath()} {
		if path == "" {
			continue
		}
		if mounted, err := s.isMountPoint(path); err != nil || !mounted {
			health.HealthStatuses = append(health.HealthStatuses, &csi.VolumeHealth_VolumeHealthEntry{
				Status: csi.VolumeHealthErrorType_INACCESSIBLE, Reason: "NotMounted", Message: path + " is not a mount point",
			})
		}
	}
	return &csi.NodeGetVolumeHealthResponse{VolumeHealth: health}, nil
}

// NodeGetStorageHealth reports the backend unreachable when its probe fails.
func (s *NodeServer) NodeGetStorageHealth(ctx context.Context, _ *csi.NodeGetStorageHealthRequest) (*csi.NodeGetStorageHealthResponse, error) {
	resp := &csi.NodeGetStorageHealthResponse{}
	if err := s.d.backend.Probe(ctx); err != nil {
		resp.BackendHealth = []*csi.NodeGetStorageHealthResponse_StorageBackendHealth{{
			Status: csi.StorageHealthErrorType_STORAGE_UNREACHABLE, Reason: "ProbeFailed", Message: err.Error(),
		}}
	}
	return resp, nil
}

// NodeExpandVolume grows the filesystem of a mounted volume to the size of
// its device; a block volume needs nothing more than the controller's step.
// A mounted ext4 filesystem grows only when the driver has CAP_SYS_RESOURCE;
// without it the call fails with FailedPrecondition, leaving the filesystem
// intact at its old size, and the next NodeStageVolume grows it offline.
func (s *NodeServer) NodeExpandVolume(ctx context.Context, req *csi.NodeExpandVolumeRequest) (*csi.NodeExpandVolumeResponse, error) {
	if err := required("volume_id", req.GetVolumeId()); err != nil {
		return nil, err
	}
	if err := required("volume_path", req.GetVolumePath()); err != nil {
		return nil, err
	}
	id, err := parseVolumeID("volume_id", req.GetVolumeId())
	if err != nil {
		return nil, err
	}
	unlock, err := s.d.lock(string(id))
	if err != nil {
		return nil, err
	}
	defer unlock()
	vol, err := s.d.backend.GetVolume(ctx, id)
	if err != nil {
		return nil, toStatus(err)
	}
	path, err := s.d.confine("volume_path", req.GetVolumePath())
	if err != nil {
		return nil, err
	}
	device, err := s.d.backend.Device(ctx, id)
	if err != nil {
		return nil, toStatus(err)
	}
	if err := s.growFilesystem(ctx, id, req, path, device); err != nil {
		return nil, err
	}
	return &csi.NodeExpandVolumeResponse{CapacityBytes: vol.CapacityBytes}, nil
}

func (s *NodeServer) growFilesystem(ctx context.Context, id backend.VolumeID, req *csi.NodeExpandVolumeRequest, path, device string) error {
	info, err := os.Stat(path)
	if os.IsNotExist(err) {
		return status.Errorf(codes.NotFound, "volume_path %s does not exist", path)
	}
	if err != nil {
		return status.Errorf(codes.Internal, "failed to stat volume_path: %v", err)
	}
	if req.GetVolumeCapability().GetBlock() != nil || info.Mode()&os.ModeDevice != 0 {
		return nil
	}
	// The resize tools grow whatever filesystem is mounted at the path.
	mounted, err := s.mountedHere("volume_path", path, device)
	if err != nil {
		return err
	}
	if !mounted {
		return status.Errorf(codes.FailedPrecondition, "volume_path %s: volume_id %s is not mounted there", path, id)
	}
	format, err := s.d.mounter.GetDiskFormat(device)
	if err != nil {
		return status.Errorf(codes.Internal, "failed to detect the filesystem at volume_path: %v", err)
	}
	grow, err := onlineGrowthNeeded(id, device, format)
	if err != nil || !grow {
		return err
	}
	if _, err := s.d.resizer.Resize(device, path); err != nil {
		return status.Errorf(codes.Internal, "failed to grow the filesystem at volume_path: %v", err)
	}
	logr.FromContextOrDiscard(ctx).Info("Grew filesystem", "device", device, "path", path)
	return nil
}

// unmount unmounts path when it is a mount point and never removes it.
func (s *NodeServer) unmount(path string) error {
	mounted, err := s.isMountPoint(path)
	if err != nil || !mounted {
		return err
	}
	if err := s.d.mounter.Unmount(path); err != nil {
		return status.Errorf(codes.Internal, "failed to unmount %s: %v", path, err)
	}
	return nil
}
