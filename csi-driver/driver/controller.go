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
	"strings"

	"github.com/container-storage-interface/spec/lib/go/csi"
	"github.com/go-logr/logr"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/plinth-dev/plinth/csi-driver/backend"
)

// ControllerServer is the CSI Controller service for the node's own pool.
type ControllerServer struct {
	csi.UnimplementedControllerServer
	d *Driver
}

var controllerCapabilities = []csi.ControllerServiceCapability_RPC_Type{
	csi.ControllerServiceCapability_RPC_CREATE_DELETE_VOLUME,
	csi.ControllerServiceCapability_RPC_CREATE_DELETE_SNAPSHOT,
	csi.ControllerServiceCapability_RPC_LIST_SNAPSHOTS,
	csi.ControllerServiceCapability_RPC_GET_SNAPSHOT,
	csi.ControllerServiceCapability_RPC_LIST_VOLUMES,
	csi.ControllerServiceCapability_RPC_GET_CAPACITY,
	csi.ControllerServiceCapability_RPC_EXPAND_VOLUME,
	csi.ControllerServiceCapability_RPC_CLONE_VOLUME,
	csi.ControllerServiceCapability_RPC_GET_VOLUME,
	csi.ControllerServiceCapability_RPC_GET_VOLUME_HEALTH,
	csi.ControllerServiceCapability_RPC_LIST_VOLUME_HEALTH,
	csi.ControllerServiceCapability_RPC_SINGLE_NODE_MULTI_WRITER,
}

// ControllerGetCapabilities lists the controller RPCs the driver implements.
func (s *ControllerServer) ControllerGetCapabilities(context.Context, *csi.ControllerGetCapabilitiesRequest) (*csi.ControllerGetCapabilitiesResponse, error) {
	caps := make([]*csi.ControllerServiceCapability, 0, len(controllerCapabilities))
	for _, t := range controllerCapabilities {
		caps = append(caps, &csi.ControllerServiceCapability{
			Type: &csi.ControllerServiceCapability_Rpc{Rpc: &csi.ControllerServiceCapability_RPC{Type: t}},
		})
	}
	return &csi.ControllerGetCapabilitiesResponse{Capabilities: caps}, nil
}

// CreateVolume creates the volume for req.Name on this node's pool, or
// returns the one an earlier call created.
func (s *ControllerServer) CreateVolume(ctx context.Context, req *csi.CreateVolumeRequest) (*csi.CreateVolumeResponse, error) {
	spec, err := s.volumeRequest(ctx, req)
	if err != nil {
		return nil, err
	}
	unlock, ok := s.d.locks.acquire(ctx, string(spec.ID), sourceKeys(spec)...)
	if !ok {
		return nil, busy(string(spec.ID))
	}
	defer unlock()
	vol, err := s.createOrReuse(ctx, spec, req.GetCapacityRange())
	if err != nil {
		return nil, err
	}
	seg, err := s.d.segments(ctx)
	if err != nil {
		return nil, status.Error(codes.Unavailable, err.Error())
	}
	return &csi.CreateVolumeResponse{Volume: &csi.Volume{
		VolumeId:           string(vol.ID),
		CapacityBytes:      vol.CapacityBytes,
		VolumeContext:      volumeContext(req.GetParameters()),
		ContentSource:      req.GetVolumeContentSource(),
		AccessibleTopology: []*csi.Topology{{Segments: seg}},
	}}, nil
}

// volumeContext is what NodeStageVolume needs to know of the class's
// parameters: only ParamAllowSuidAndDevices, when set.
func volumeContext(params map[string]string) map[string]string {
	if v, ok := params[ParamAllowSuidAndDevices]; ok {
		return map[string]string{ParamAllowSuidAndDevices: v}
	}
	return nil
}

// volumeRequest validates req and turns it into a backend request.
func (s *ControllerServer) volumeRequest(ctx context.Context, req *csi.CreateVolumeRequest) (backend.VolumeRequest, error) {
	if err := required("name", req.GetName()); err != nil {
		return backend.VolumeRequest{}, err
	}
	if isEphemeralHandle(req.GetName()) {
		return backend.VolumeRequest{}, status.Errorf(codes.InvalidArgument, "name %q has the form of kubelet's inline ephemeral volume IDs, which the driver reserves for them", req.GetName())
	}
	if err := checkCapabilities("volume_capabilities", req.GetVolumeCapabilities()); err != nil {
		return backend.VolumeRequest{}, err
	}
	suidDev, err := allowSuidAndDevices(req.GetParameters())
	if err != nil {
		return backend.VolumeRequest{}, err
	}
	if err := s.d.checkCapabilitiesMountFlags("volume_capabilities", req.GetVolumeCapabilities(), suidDev); err != nil {
		return backend.VolumeRequest{}, err
	}
	if len(req.GetMutableParameters()) > 0 {
		return backend.VolumeRequest{}, status.Error(codes.InvalidArgument, "mutable_parameters are not supported: the driver does not implement ModifyVolume")
	}
	if err := s.checkTopology(ctx, req.GetAccessibilityRequirements()); err != nil {
		return backend.VolumeRequest{}, err
	}
	source, err := parseContentSource(req.GetVolumeContentSource())
	if err != nil {
		return backend.VolumeRequest{}, err
	}
	sourceSize, err := s.sourceSize(ctx, source)
	if err != nil {
		return backend.VolumeRequest{}, err
	}
	size, err := sizeForSource(req.GetCapacityRange(), s.d.sizeFloor(req.GetVolumeCapabilities()), sourceSize)
	if err != nil {
		return backend.VolumeRequest{}, err
	}
	return backend.VolumeRequest{
		ID:            backend.NewVolumeID(req.GetName()),
		Name:          req.GetName(),
		CapacityBytes: size,
		Source:        source,
		Parameters:    backendParameters(req.GetParameters()),
	}, nil
}

// coMetadataPrefix starts the parameter keys a CO adds to describe the
// request (csi.storage.k8s.io/pvc/name and the like): information for the
// driver, not storage parameters, so the backend never sees them.
const coMetadataPrefix = "csi.storage.k8s.io/"

// backendParameters are the parameters meant for the backend: neither the
// CO's nor the driver's own.
func backendParameters(params map[string]string) map[string]string {
	out := make(map[string]string, len(params))
	for k, v := range params {
		if !strings.HasPrefix(k, coMetadataPrefix) && k != ParamAllowSuidAndDevices {
			out[k] = v
		}
	}
	return out
}

func (s *ControllerServer) checkTopology(ctx context.Context, reqs *csi.TopologyRequirement) error {
	seg, err := s.d.segments(ctx)
	if err != nil {
		return status.Error(codes.Unavailable, err.Error())
	}
	if !reachable(reqs, seg) {
		return status.Errorf(codes.ResourceExhausted, "accessibility_requirements: no requisite topology contains node %s", s.d.nodeID)
	}
	return nil
}

// sizeForSource picks the volume size; a volume made from a source is at
// least as large as the source.
func sizeForSource(r *csi.CapacityRange, floor, sourceSize int64) (int64, error) {
	size, err := volumeSize(r, max(floor, sourceSize))
	if err != nil {
		return 0, err
	}
	if r.GetRequiredBytes() == 0 && sourceSize > 0 {
		size = max(roundUp(sourceSize, sizeAlignment), floor)
	}
	return size, nil
}

// sourceSize returns the size of the source of a new volume; zero for none.
func (s *ControllerServer) sourceSize(ctx context.Context, source backend.ContentSource) (int64, error) {
	switch {
	case source.Snapshot != "":
		snap, err := s.d.backend.GetSnapshot(ctx, source.Snapshot)
		return snap.SizeBytes, toStatus(err)
	case source.Volume != "":
		vol, err := s.d.backend.GetVolume(ctx, source.Volume)
		return vol.CapacityBytes, toStatus(err)
	default:
		return 0, nil
	}
}

// sourceKeys are the lock keys of what a new volume is made from.
func sourceKeys(spec backend.VolumeRequest) []string {
	var keys []string
	if spec.Source.Snapshot != "" {
		keys = append(keys, string(spec.Source.Snapshot))
	}
	if spec.Source.Volume != "" {
		keys = append(keys, string(spec.Source.Volume))
	}
	return keys
}

// createOrReuse returns the existing volume when it satisfies the request
// (idempotency by name) and creates it otherwise.
func (s *ControllerServer) createOrReuse(ctx context.Context, spec backend.VolumeRequest, r *csi.CapacityRange) (backend.Volume, error) {
	existing, err := s.d.backend.GetVolume(ctx, spec.ID)
	switch {
	case errors.Is(err, backend.ErrNotFound):
		vol, err := s.d.backend.CreateVolume(ctx, spec)
		if err == nil {
			logr.FromContextOrDiscard(ctx).Info("Created volume", "volumeID", vol.ID, "name", spec.Name, "bytes", vol.CapacityBytes)
		}
		return vol, toStatus(err)
	case err != nil:
		return backend.Volume{}, toStatus(err)
	case !inRange(existing.CapacityBytes, r) || existing.Source != spec.Source:
		return backend.Volume{}, status.Errorf(codes.AlreadyExists,
			"name: volume %q exists as %s with %d bytes and another size or source", spec.Name, existing.ID, existing.CapacityBytes)
	default:
		return existing, nil
	}
}

// DeleteVolume deletes a volume; a missing or malformed ID is already deleted.
func (s *ControllerServer) DeleteVolume(ctx context.Context, req *csi.DeleteVolumeRequest) (*csi.DeleteVolumeResponse, error) {
	id, named, err := parseDeletionID(ctx, "volume_id", req.GetVolumeId(), backend.ParseVolumeID)
	if named {
		err = deleteLocked(ctx, s.d, id, s.deletePersistent)
	}
	if err != nil {
		return nil, err
	}
	return &csi.DeleteVolumeResponse{}, nil
}

// deletePersistent deletes a volume unless it backs an inline ephemeral
// volume, which belongs to its pod: NodeUnpublishVolume deletes it.
func (s *ControllerServer) deletePersistent(ctx context.Context, id backend.VolumeID) error {
	vol, err := s.d.backend.GetVolume(ctx, id)
	if err != nil && !errors.Is(err, backend.ErrNotFound) {
		return err
	}
	if err == nil && isEphemeral(vol) {
		return status.Errorf(codes.FailedPrecondition, "volume_id %s backs inline ephemeral volume %s, which NodeUnpublishVolume deletes", id, vol.Name)
	}
	return s.d.backend.DeleteVolume(ctx, id)
}

// deleteLocked is the deletion both DeleteVolume and DeleteSnapshot
// perform: del under the lock of id.
func deleteLocked[ID ~string](ctx context.Context, d *Driver, id ID, del func(context.Context, ID) error) error {
	unlock, err := d.lock(string(id))
	if err != nil {
		return err
	}
	defer unlock()
	return toStatus(del(ctx, id))
}

// ValidateVolumeCapabilities confirms capabilities the driver can serve for an existing volume.
func (s *ControllerServer) ValidateVolumeCapabilities(ctx context.Context, req *csi.ValidateVolumeCapabilitiesRequest) (*csi.ValidateVolumeCapabilitiesResponse, error) {
	if err := required("volume_id", req.GetVolumeId()); err != nil {
		return nil, err
	}
	if len(req.GetVolumeCapabilities()) == 0 {
		return nil, status.Error(codes.InvalidArgument, "volume_capabilities is required")
	}
	id, err := parseVolumeID("volume_id", req.GetVolumeId())
	if err != nil {
		return nil, err
	}
	if _, err := s.d.backend.GetVolume(ctx, id); err != nil {
		return nil, toStatus(err)
	}
	for i, c := range req.GetVolumeCapabilities() {
		if err := checkCapability(c); err != nil {
			return &csi.ValidateVolumeCapabilitiesResponse{Message: status.Errorf(codes.InvalidArgument, "volume_capabilities[%d]: %v", i, err).Error()}, nil
		}
	}
	suidDev, err := allowSuidAndDevices(req.GetVolumeContext())
	if err == nil {
		err = s.d.checkCapabilitiesMountFlags("volume_capabilities", req.GetVolumeCapabilities(), suidDev)
	}
	if err != nil {
		return &csi.ValidateVolumeCapabilitiesResponse{Message: err.Error()}, nil
	}
	return &csi.ValidateVolumeCapabilitiesResponse{Confirmed: &csi.ValidateVolumeCapabilitiesResponse_Confirmed{
		VolumeContext:      req.GetVolumeContext(),
		VolumeCapabilities: req.GetVolumeCapabilities(),
		Parameters:         req.GetParameters(),
	}}, nil
}

// ListVolumes pages through the pool's volumes. The backing volumes of
// inline ephemeral volumes are left out: no PersistentVolume refers to them,
// and whoever compares the list with PVs must not take them for leaks.
func (s *ControllerServer) ListVolumes(ctx context.Context, req *csi.ListVolumesRequest) (*csi.ListVolumesResponse, error) {
	vols, err := s.d.backend.ListVolumes(ctx)
	if err != nil {
		return nil, toStatus(err)
	}
	page, next, err := paginate(persistent(vols), req.GetStartingToken(), req.GetMaxEntries())
	if err != nil {
		return nil, err
	}
	seg, err := s.d.segments(ctx)
	if err != nil {
		return nil, status.Error(codes.Unavailable, err.Error())
	}
	entries := make([]*csi.ListVolumesResponse_Entry, 0, len(page))
	for _, v := range page {
		entries = append(entries, &csi.ListVolumesResponse_Entry{Volume: csiVolume(v, seg)})
	}
	return &csi.ListVolumesResponse{Entries: entries, NextToken: next}, nil
}

// ControllerGetVolume returns a volume.
func (s *ControllerServer) ControllerGetVolume(ctx context.Context, req *csi.ControllerGetVolumeRequest) (*csi.ControllerGetVolumeResponse, error) {
	id, err := parseVolumeID("volume_id", req.GetVolumeId())
	if err != nil {
		return nil, err
	}
	vol, err := s.d.backend.GetVolume(ctx, id)
	if err != nil {
		return nil, toStatus(err)
	}
	seg, err := s.d.segments(ctx)
	if err != nil {
		return nil, status.Error(codes.Unavailable, err.Error())
	}
	return &csi.ControllerGetVolumeResponse{Volume: csiVolume(vol, seg), Status: &csi.ControllerGetVolumeResponse_VolumeStatus{}}, nil
}

func csiVolume(v backend.Volume, seg map[string]string) *csi.Volume {
	vol := &csi.Volume{
		VolumeId:           string(v.ID),
		CapacityBytes:      v.CapacityBytes,
		AccessibleTopology: []*csi.Topology{{Segments: seg}},
	}
	switch {
	case v.Source.Snapshot != "":
		vol.ContentSource = &csi.VolumeContentSource{Type: &csi.VolumeContentSource_Snapshot{
			Snapshot: &csi.VolumeContentSource_SnapshotSource{SnapshotId: string(v.Source.Snapshot)},
		}}
	case v.Source.Volume != "":
		vol.ContentSource = &csi.VolumeContentSource{Type: &csi.VolumeContentSource_Volume{
			Volume: &csi.VolumeContentSource_VolumeSource{VolumeId: string(v.Source.Volume)},
		}}
	}
	return vol
}

// ControllerGetVolumeHealth reports the known problems of one volume.
func (s *ControllerServer) ControllerGetVolumeHealth(ctx context.Context, req *csi.ControllerGetVolumeHealthRequest) (*csi.ControllerGetVolumeHealthResponse, error) {
	id, err := parseVolumeID("volume_id", req.GetVolumeId())
	if err != nil {
		return nil, err
	}
	vol, err := s.d.backend.GetVolume(ctx, id)
	if err != nil {
		return nil, toStatus(err)
	}
	return &csi.ControllerGetVolumeHealthResponse{VolumeHealth: csiHealth(vol)}, nil
}

// ControllerListVolumeHealth pages through the volumes that have problems,
// leaving out inline ephemeral volumes as ListVolumes does.
func (s *ControllerServer) ControllerListVolumeHealth(ctx context.Context, req *csi.ControllerListVolumeHealthRequest) (*csi.ControllerListVolumeHealthResponse, error) {
	vols, err := s.d.backend.ListVolumes(ctx)
	if err != nil {
		return nil, toStatus(err)
	}
	var unhealthy []*csi.VolumeHealth
	for _, v := range persistent(vols) {
		if len(v.Health) > 0 {
			unhealthy = append(unhealthy, csiHealth(v))
		}
	}
	page, next, err := paginate(unhealthy, req.GetStartingToken(), req.GetMaxEntries())
	if err != nil {
		return nil, err
	}
	return &csi.ControllerListVolumeHealthResponse{Entries: page, NextToken: next}, nil
}

var healthKinds = map[backend.HealthKind]csi.VolumeHealthErrorType{
	backend.HealthDegraded:     csi.VolumeHealthErrorType_DEGRADED,
	backend.HealthInaccessible: csi.VolumeHealthErrorType_INACCESSIBLE,
	backend.HealthDataLoss:     csi.VolumeHealthErrorType_DATA_LOSS,
}

func csiHealth(v backend.Volume) *csi.VolumeHealth {
	h := &csi.VolumeHealth{VolumeId: string(v.ID)}
	for _, issue := range v.Health {
		h.HealthStatuses = append(h.HealthStatuses, &csi.VolumeHealth_VolumeHealthEntry{
			Status: healthKinds[issue.Kind], Reason: issue.Reason, Message: issue.Message,
		})
	}
	return h
}

// GetCapacity reports the pool's free capacity, or zero for capabilities the
// driver cannot serve and for a topology this node is not in.
func (s *ControllerServer) GetCapacity(ctx context.Context, req *csi.GetCapacityRequest) (*csi.GetCapacityResponse, error) {
	for _, c := range req.GetVolumeCapabilities() {
		if checkCapability(c) != nil {
			return &csi.GetCapacityResponse{}, nil
		}
	}
	seg, err := s.d.segments(ctx)
	if err != nil {
		return nil, status.Error(codes.Unavailable, err.Error())
	}
	if t := req.GetAccessibleTopology(); t != nil && !within(t, seg) {
		return &csi.GetCapacityResponse{}, nil
	}
	c, err := s.d.backend.Capacity(ctx)
	if err != nil {
		return nil, toStatus(err)
	}
	floor := max(c.MinimumVolumeBytes, s.d.sizeFloor(req.GetVolumeCapabilities()))
	return &csi.GetCapacityResponse{
		AvailableCapacity: creatable(c.AvailableBytes, floor),
		MaximumVolumeSize: wrapInt64(creatable(c.MaximumVolumeBytes, floor)),
		MinimumVolumeSize: wrapInt64(floor),
	}, nil
}

// creatable turns the backend's free bytes into a capacity every request
// within which CreateVolume accepts: whole MiB, as volumes are rounded up to
// them, and none at all below the smallest volume of the capabilities (a
// 100Mi claim for XFS is a 300 MiB volume), so that the scheduler does not
// send claims to a node that would refuse them.
func creatable(bytes, floor int64) int64 {
	bytes -= bytes % sizeAlignment
	if bytes < floor {
		return 0
	}
	return bytes
}

// ControllerExpandVolume grows the volume. A filesystem volume asks for node
// expansion: NodeExpandVolume grows a mounted filesystem, and NodeStageVolume
// grows one that was unstaged (or could not grow while mounted).
func (s *ControllerServer) ControllerExpandVolume(ctx context.Context, req *csi.ControllerExpandVolumeRequest) (*csi.ControllerExpandVolumeResponse, error) {
	if err := required("volume_id", req.GetVolumeId()); err != nil {
		return nil, err
	}
	if req.GetCapacityRange() == nil {
		return nil, status.Error(codes.InvalidArgument, "capacity_range is required")
	}
	size, err := volumeSize(req.GetCapacityRange(), sizeAlignment)
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
	vol, err := s.d.backend.ExpandVolume(ctx, id, size)
	if err != nil {
		return nil, toStatus(err)
	}
	return &csi.ControllerExpandVolumeResponse{
		CapacityBytes:         vol.CapacityBytes,
		NodeExpansionRequired: req.GetVolumeCapability().GetBlock() == nil,
	}, nil
}

// CreateSnapshot cuts a snapshot of a volume and returns once it is ready.
func (s *ControllerServer) CreateSnapshot(ctx context.Context, req *csi.CreateSnapshotRequest) (*csi.CreateSnapshotResponse, error) {
	if err := required("name", req.GetName()); err != nil {
		return nil, err
	}
	source, err := parseVolumeID("source_volume_id", req.GetSourceVolumeId())
	if err != nil {
		return nil, err
	}
	seg, err := s.d.segments(ctx)
	if err != nil {
		return nil, status.Error(codes.Unavailable, err.Error())
	}
	if !reachable(req.GetAccessibilityRequirements(), seg) {
		return nil, status.Errorf(codes.ResourceExhausted, "accessibility_requirements: snapshots stay on node %s, which no requisite topology contains", s.d.nodeID)
	}
	id := backend.NewSnapshotID(req.GetName())
	unlock, ok := s.d.locks.acquire(ctx, string(id), string(source))
	if !ok {
		return nil, busy(string(id))
	}
	defer unlock()
	snap, err := s.d.backend.CreateSnapshot(ctx, backend.SnapshotRequest{
		ID: id, Name: req.GetName(), SourceVolume: source, Parameters: req.GetParameters(),
	})
	if err != nil {
		return nil, toStatus(err)
	}
	return &csi.CreateSnapshotResponse{Snapshot: csiSnapshot(snap)}, nil
}

// csiSnapshot describes a snapshot. It is usable only on this node, which
// the driver does not report: Snapshot.accessible_topology belongs to the
// SNAPSHOT_ACCESSIBILITY_CONSTRAINTS capability, which it does not advertise.
func csiSnapshot(s backend.Snapshot) *csi.Snapshot {
	return &csi.Snapshot{
		SnapshotId:     string(s.ID),
		SourceVolumeId: string(s.SourceVolume),
		SizeBytes:      s.SizeBytes,
		CreationTime:   timestamppb.New(s.CreatedAt),
		ReadyToUse:     true,
	}
}

// DeleteSnapshot deletes a snapshot; a missing or malformed ID is already deleted.
func (s *ControllerServer) DeleteSnapshot(ctx context.Context, req *csi.DeleteSnapshotRequest) (*csi.DeleteSnapshotResponse, error) {
	id, named, err := parseDeletionID(ctx, "snapshot_id", req.GetSnapshotId(), backend.ParseSnapshotID)
	if named {
		err = deleteLocked(ctx, s.d, id, s.d.backend.DeleteSnapshot)
	}
	if err != nil {
		return nil, err
	}
	return &csi.DeleteSnapshotResponse{}, nil
}

// GetSnapshot returns one snapshot.
func (s *ControllerServer) GetSnapshot(ctx context.Context, req *csi.GetSnapshotRequest) (*csi.GetSnapshotResponse, error) {
	id, err := parseSnapshotID("snapshot_id", req.GetSnapshotId())
	if err != nil {
		return nil, err
	}
	snap, err := s.d.backend.GetSnapshot(ctx, id)
	if err != nil {
		return nil, toStatus(err)
	}
	return &csi.GetSnapshotResponse{Snapshot: csiSnapshot(snap)}, nil
}

// ListSnapshots pages through the snapshots matching the optional filters;
// a malformed filter ID matches nothing.
func (s *ControllerServer) ListSnapshots(ctx context.Context, req *csi.ListSnapshotsRequest) (*csi.ListSnapshotsResponse, error) {
	filter := parseSnapshotFilter(req)
	snaps, err := s.d.backend.ListSnapshots(ctx)
	if err != nil {
		return nil, toStatus(err)
	}
	page, next, err := paginate(filter.apply(snaps), req.GetStartingToken(), req.GetMaxEntries())
	if err != nil {
		return nil, err
	}
	entries := make([]*csi.ListSnapshotsResponse_Entry, 0, len(page))
	for _, snap := range page {
		entries = append(entries, &csi.ListSnapshotsResponse_Entry{Snapshot: csiSnapshot(snap)})
	}
	return &csi.ListSnapshotsResponse{Entries: entries, NextToken: next}, nil
}
