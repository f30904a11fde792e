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
	"maps"
	"os"
	"slices"
	"strings"
	"sync"

	"github.com/container-storage-interface/spec/lib/go/csi"
	"github.com/go-logr/logr"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"k8s.io/apimachinery/pkg/api/resource"

	"github.com/plinth-dev/plinth/csi-driver/backend"
	"github.com/plinth-dev/plinth/csi-driver/internal/mountinfo"
)

const (
	// ephemeralContextKey is set to "true" by kubelet in the volume context
	// of an inline ephemeral volume.
	ephemeralContextKey = "csi.storage.k8s.io/ephemeral"
	// ephemeralHandlePrefix and ephemeralHandleHexDigits describe the volume
	// ID kubelet gives an inline volume: "csi-" and the hex SHA-256 of the
	// pod UID and the volume's name.
	ephemeralHandlePrefix    = "csi-"
	ephemeralHandleHexDigits = 64

	// Attributes (volumeAttributes in the pod) of an inline volume.
	attrSize   = "size"
	attrFSType = "fsType"
)

// ephemeralVolume is a validated NodePublishVolume of an inline volume.
type ephemeralVolume struct {
	nodeVolume
	sizeBytes int64
	fsType    string
	// target is the cleaned target path.
	target string
}

// ephemeralLimits bound the inline ephemeral volumes of a node; zero means
// no limit beyond the pool's capacity.
type ephemeralLimits struct {
	// volumeBytes is the largest inline volume.
	volumeBytes int64
	// totalBytes is the largest sum of the sizes of the node's inline volumes.
	totalBytes int64
	// mu serialises the creations, which check totalBytes.
	mu sync.Mutex
}

// isEphemeralHandle reports whether s has the form of kubelet's volume ID of
// an inline volume. CreateVolume refuses such names, so a volume named by one
// is always the backing volume of an inline volume.
func isEphemeralHandle(s string) bool {
	hexPart, ok := strings.CutPrefix(s, ephemeralHandlePrefix)
	if !ok || len(hexPart) != ephemeralHandleHexDigits {
		return false
	}
	return !strings.ContainsFunc(hexPart, func(c rune) bool {
		return (c < '0' || c > '9') && (c < 'a' || c > 'f')
	})
}

// isEphemeral reports whether vol backs an inline ephemeral volume.
func isEphemeral(vol backend.Volume) bool {
	return isEphemeralHandle(vol.Name) && vol.ID == backend.NewVolumeID(vol.Name)
}

// persistent drops the backing volumes of inline volumes, which belong to
// their pods and not to the controller service.
func persistent(vols []backend.Volume) []backend.Volume {
	out := make([]backend.Volume, 0, len(vols))
	for _, v := range vols {
		if !isEphemeral(v) {
			out = append(out, v)
		}
	}
	return out
}

// ephemeralRequest validates the NodePublishVolume of an inline volume.
func (d *Driver) ephemeralRequest(req *csi.NodePublishVolumeRequest) (ephemeralVolume, error) {
	nv, err := parseEphemeralHandle("volume_id", req.GetVolumeId())
	if err != nil {
		return ephemeralVolume{}, err
	}
	target, err := d.confine("target_path", req.GetTargetPath())
	if err != nil {
		return ephemeralVolume{}, err
	}
	c := req.GetVolumeCapability()
	if err := requiredCapability(c); err != nil {
		return ephemeralVolume{}, err
	}
	if err := d.checkMountFlags("volume_capability", c, false); err != nil {
		return ephemeralVolume{}, err
	}
	if c.GetBlock() != nil {
		return ephemeralVolume{}, status.Error(codes.InvalidArgument, "volume_capability: inline ephemeral volumes are filesystems, block access is not supported")
	}
	if req.GetReadonly() || isReadOnlyMode(c) {
		return ephemeralVolume{}, status.Error(codes.InvalidArgument, "readonly: an inline ephemeral volume starts empty, so it cannot be read-only")
	}
	vol := ephemeralVolume{nodeVolume: nv, target: target}
	vol.fsType, vol.sizeBytes, err = d.ephemeralAttributes(req.GetVolumeContext(), c)
	if err == nil && d.ephemeral.volumeBytes > 0 && vol.sizeBytes > d.ephemeral.volumeBytes {
		err = status.Errorf(codes.OutOfRange, "volume_context: %s of %d bytes exceeds the largest inline ephemeral volume of this node, %d bytes",
			attrSize, vol.sizeBytes, d.ephemeral.volumeBytes)
	}
	return vol, err
}

// ephemeralAttributes checks the attributes of an inline volume and returns
// its filesystem and size. Keys under csi.storage.k8s.io/ are kubelet's.
func (d *Driver) ephemeralAttributes(attrs map[string]string, c *csi.VolumeCapability) (string, int64, error) {
	for _, k := range slices.Sorted(maps.Keys(attrs)) {
		if k != attrSize && k != attrFSType && !strings.HasPrefix(k, coMetadataPrefix) {
			return "", 0, status.Errorf(codes.InvalidArgument, "volume_context: unknown attribute %q of an inline ephemeral volume, known are %q and %q", k, attrSize, attrFSType)
		}
	}
	fsType, err := d.ephemeralFSType(attrs[attrFSType], c)
	if err != nil {
		return "", 0, err
	}
	size, err := ephemeralSize(attrs[attrSize], minFilesystemSize(fsType))
	return fsType, size, err
}

// ephemeralFSType picks the filesystem from the attribute, the capability
// (the pod's csi.fsType) or the driver's default, in that order.
func (d *Driver) ephemeralFSType(attr string, c *csi.VolumeCapability) (string, error) {
	if attr == "" {
		return d.fsTypeOf(c), nil
	}
	if !supportedFSTypes[attr] {
		return "", status.Errorf(codes.InvalidArgument, "volume_context: %s %q is not supported, use ext4 or xfs", attrFSType, attr)
	}
	if fs := c.GetMount().GetFsType(); fs != "" && fs != attr {
		return "", status.Errorf(codes.InvalidArgument, "volume_context: %s %q contradicts volume_capability fs_type %q", attrFSType, attr, fs)
	}
	return attr, nil
}

// ephemeralSize parses the size attribute, a Kubernetes quantity, and rounds
// it up to whole MiB and at least floor; empty means defaultVolumeSize.
func ephemeralSize(attr string, floor int64) (int64, error) {
	if attr == "" {
		return max(defaultVolumeSize, floor), nil
	}
	q, err := resource.ParseQuantity(attr)
	if err != nil {
		return 0, status.Errorf(codes.InvalidArgument, "volume_context: %s %q is not a quantity such as 1Gi: %v", attrSize, attr, err)
	}
	if q.Sign() <= 0 {
		return 0, status.Errorf(codes.InvalidArgument, "volume_context: %s %q must be positive", attrSize, attr)
	}
	if q.CmpInt64(maxBytes) > 0 {
		return 0, status.Errorf(codes.OutOfRange, "volume_context: %s %q exceeds %d bytes", attrSize, attr, int64(maxBytes))
	}
	return max(roundUp(q.Value(), sizeAlignment), floor), nil
}

// publishEphemeral creates the backing volume of an inline volume, attaches
// it, formats it when blank and mounts it at the target path. Each step finds
// what an earlier, interrupted call did, so kubelet's retry after a crash
// completes the job, and NodeUnpublishVolume removes whatever exists.
func (s *NodeServer) publishEphemeral(ctx context.Context, req *csi.NodePublishVolumeRequest) (*csi.NodePublishVolumeResponse, error) {
	vol, err := s.d.ephemeralRequest(req)
	if err != nil {
		return nil, err
	}
	unlock, err := s.d.lock(string(vol.id))
	if err != nil {
		return nil, err
	}
	defer unlock()
	created, err := s.ensureEphemeral(ctx, vol)
	if err != nil {
		return nil, err
	}
	if err := s.mountEphemeral(ctx, vol, req); err != nil {
		if created {
			s.rollBackEphemeral(ctx, vol)
		}
		return nil, err
	}
	return &csi.NodePublishVolumeResponse{}, nil
}

// ensureEphemeral creates the backing volume unless an earlier call did, and
// reports whether this call created it. The volume's name is the durable
// record that it is ephemeral and of which handle. An existing volume keeps
// the size it was created with: the pod's attributes cannot change.
func (s *NodeServer) ensureEphemeral(ctx context.Context, vol ephemeralVolume) (bool, error) {
	s.d.ephemeral.mu.Lock()
	defer s.d.ephemeral.mu.Unlock()
	existing, err := s.d.backend.GetVolume(ctx, vol.id)
	switch {
	case errors.Is(err, backend.ErrNotFound):
		if err := s.checkEphemeralTotal(ctx, vol.sizeBytes); err != nil {
			return false, err
		}
		_, err := s.d.backend.CreateVolume(ctx, backend.VolumeRequest{ID: vol.id, Name: vol.handle, CapacityBytes: vol.sizeBytes})
		if err != nil {
			return false, toStatus(err)
		}
		logr.FromContextOrDiscard(ctx).Info("Created ephemeral volume", "volumeID", vol.id, "handle", vol.handle, "bytes", vol.sizeBytes)
		return true, nil
	case err != nil:
		return false, toStatus(err)
	case existing.Name != vol.handle:
		return false, status.Errorf(codes.FailedPrecondition, "volume %s belongs to %q, not to inline volume %s", vol.id, existing.Name, vol.handle)
	default:
		return false, nil
	}
}

// checkEphemeralTotal fails with ResourceExhausted when a new inline volume
// of sizeBytes would take the node's inline volumes past their total.
func (s *NodeServer) checkEphemeralTotal(ctx context.Context, sizeBytes int64) error {
	if s.d.ephemeral.totalBytes == 0 {
		return nil
	}
	vols, err := s.d.backend.ListVolumes(ctx)
	if err != nil {
		return toStatus(err)
	}
	total := sizeBytes
	for _, v := range vols {
		if isEphemeral(v) {
			total += v.CapacityBytes
		}
	}
	if total > s.d.ephemeral.totalBytes {
		return status.Errorf(codes.ResourceExhausted, "inline ephemeral volumes of this node would take %d bytes, more than their limit of %d bytes",
			total, s.d.ephemeral.totalBytes)
	}
	return nil
}

// mountEphemeral attaches the backing volume and mounts its filesystem,
// formatted if blank, at the target path, which it creates.
func (s *NodeServer) mountEphemeral(ctx context.Context, vol ephemeralVolume, req *csi.NodePublishVolumeRequest) error {
	device, err := s.d.backend.Attach(ctx, vol.id)
	if err != nil {
		return toStatus(err)
	}
	target := vol.target
	mounted, err := s.mountedHere("target_path", target, device)
	if err != nil {
		return err
	}
	if mounted {
		return s.checkPublished(target, false)
	}
	if err := os.MkdirAll(target, 0o750); err != nil {
		return status.Errorf(codes.Internal, "failed to create target_path: %v", err)
	}
	options := mountOptions(req.GetVolumeCapability(), vol.fsType, false)
	if err := s.d.mounter.FormatAndMount(device, target, vol.fsType, options); err != nil {
		return status.Errorf(codes.Internal, "failed to format and mount %s at target_path: %v", device, err)
	}
	logr.FromContextOrDiscard(ctx).Info("Published ephemeral volume", "volumeID", vol.id, "device", device, "path", target, "fsType", vol.fsType)
	return nil
}

// rollBackEphemeral removes the volume a failed publish created. Kubelet
// forgets an inline volume whose publish failed with a final error and
// would never unpublish it. The volume is deleted even when the target
// cannot be cleaned up: deleteEphemeral checks the device's own mounts. A
// failure is only logged: the caller reports the original error.
func (s *NodeServer) rollBackEphemeral(ctx context.Context, vol ephemeralVolume) {
	ctx = context.WithoutCancel(ctx)
	device, err := s.device(ctx, vol.id)
	if err == nil {
		err = s.clearTarget(vol.target, device)
	}
	err = errors.Join(err, s.deleteEphemeral(ctx, vol.nodeVolume))
	if err != nil {
		logr.FromContextOrDiscard(ctx).Error(err, "Failed to roll back ephemeral volume", "volumeID", vol.id, "handle", vol.handle)
	}
}

// deleteEphemeral detaches and deletes the backing volume of the inline
// volume nv; a missing one is already deleted. A volume whose name does not
// record nv's handle is never deleted, nor one still mounted anywhere.
func (s *NodeServer) deleteEphemeral(ctx context.Context, nv nodeVolume) error {
	id, handle := nv.id, nv.handle
	vol, err := s.d.backend.GetVolume(ctx, id)
	if errors.Is(err, backend.ErrNotFound) {
		return nil
	}
	if err != nil {
		return toStatus(err)
	}
	log := logr.FromContextOrDiscard(ctx).WithValues("volumeID", id, "handle", handle)
	if vol.Name != handle {
		log.Info("Keeping a volume that is not the backing volume of the inline volume", "name", vol.Name)
		return nil
	}
	if err := s.checkUnmounted(ctx, id); err != nil {
		return err
	}
	if err := s.d.backend.Detach(ctx, id); err != nil {
		return toStatus(err)
	}
	if err := s.d.backend.DeleteVolume(ctx, id); err != nil {
		return toStatus(err)
	}
	log.Info("Deleted ephemeral volume")
	return nil
}

// checkUnmounted refuses to detach a volume whose device is still mounted.
func (s *NodeServer) checkUnmounted(ctx context.Context, id backend.VolumeID) error {
	device, err := s.d.backend.Device(ctx, id)
	if errors.Is(err, backend.ErrNotAttached) {
		return nil
	}
	if err != nil {
		return toStatus(err)
	}
	filesystems, binds, err := mountinfo.ByDevice(device)
	if err != nil {
		return status.Errorf(codes.Internal, "failed to list mounts: %v", err)
	}
	if mounts := slices.Concat(filesystems, binds); len(mounts) > 0 {
		return status.Errorf(codes.FailedPrecondition, "volume %s is still mounted at %v", id, mounts)
	}
	return nil
}
