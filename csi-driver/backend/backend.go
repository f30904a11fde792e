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

package backend

import (
	"context"
	"time"
)

// Backend is everything the CSI driver needs from a storage system. A vendor
// implements it and passes it to driver.New; the driver handles gRPC,
// validation, idempotency of names, locking, mounting and formatting.
type Backend interface {
	Volumes
	Snapshots
	Devices
	// Capacity reports the space available for new volumes.
	Capacity(ctx context.Context) (Capacity, error)
	// Probe returns nil when the backend can serve requests.
	Probe(ctx context.Context) error
}

// Volumes manages the life cycle of volumes.
type Volumes interface {
	// CreateVolume creates the volume req.ID, optionally filled from
	// req.Source. When the volume exists with the same size, source and
	// parameters it returns it unchanged; otherwise it fails with ErrExists.
	// A missing source is ErrNotFound and a lack of space ErrNoSpace.
	CreateVolume(ctx context.Context, req VolumeRequest) (Volume, error)
	// DeleteVolume deletes the volume; deleting a missing volume succeeds.
	DeleteVolume(ctx context.Context, id VolumeID) error
	// ExpandVolume grows the volume to at least sizeBytes (online when it is
	// attached) and returns the result; a smaller size is a no-op.
	ExpandVolume(ctx context.Context, id VolumeID, sizeBytes int64) (Volume, error)
	// GetVolume returns the volume or ErrNotFound.
	GetVolume(ctx context.Context, id VolumeID) (Volume, error)
	// ListVolumes returns every volume, in a stable order.
	ListVolumes(ctx context.Context) ([]Volume, error)
}

// Snapshots manages point-in-time copies of volumes.
type Snapshots interface {
	// CreateSnapshot cuts the snapshot req.ID of req.SourceVolume and returns
	// once it is complete. An existing snapshot of the same source is returned
	// unchanged; one of another source fails with ErrExists.
	CreateSnapshot(ctx context.Context, req SnapshotRequest) (Snapshot, error)
	// DeleteSnapshot deletes the snapshot; deleting a missing snapshot succeeds.
	DeleteSnapshot(ctx context.Context, id SnapshotID) error
	// GetSnapshot returns the snapshot or ErrNotFound.
	GetSnapshot(ctx context.Context, id SnapshotID) (Snapshot, error)
	// ListSnapshots returns every snapshot, in a stable order.
	ListSnapshots(ctx context.Context) ([]Snapshot, error)
}

// Devices makes volumes available as block devices on this node.
type Devices interface {
	// Attach makes the volume available as a block device of the volume's
	// current size, also after an expansion while detached, and returns its
	// path. Attaching an attached volume returns the same path.
	Attach(ctx context.Context, id VolumeID) (string, error)
	// Detach removes the block device; detaching a detached volume succeeds.
	Detach(ctx context.Context, id VolumeID) error
	// Device returns the path of the attached device or ErrNotAttached.
	Device(ctx context.Context, id VolumeID) (string, error)
}

// VolumeRequest describes the volume CreateVolume must produce.
type VolumeRequest struct {
	// ID is the driver-assigned ID.
	ID VolumeID
	// Name is the CSI name the ID was derived from. The backend keeps it
	// and returns it as Volume.Name: besides diagnostics, it is how the
	// driver recognises the backing volume of an inline ephemeral volume.
	Name string
	// CapacityBytes is the size of the new volume, already rounded by the driver.
	CapacityBytes int64
	// Source optionally names the content to start from.
	Source ContentSource
	// Parameters are the StorageClass parameters.
	Parameters map[string]string
}

// ContentSource names at most one snapshot or volume to copy from.
type ContentSource struct {
	// Snapshot is the source snapshot, or empty.
	Snapshot SnapshotID `json:"snapshot,omitempty"`
	// Volume is the source volume, or empty.
	Volume VolumeID `json:"volume,omitempty"`
}

// IsZero reports whether the source names nothing.
func (s ContentSource) IsZero() bool {
	return s.Snapshot == "" && s.Volume == ""
}

// Volume describes an existing volume.
type Volume struct {
	// ID identifies the volume.
	ID VolumeID `json:"id"`
	// Name is the CSI name the volume was created with.
	Name string `json:"name"`
	// CapacityBytes is the current size.
	CapacityBytes int64 `json:"capacityBytes"`
	// Source is the content the volume was created from.
	Source ContentSource `json:"source"`
	// Parameters are the parameters the volume was created with.
	Parameters map[string]string `json:"parameters,omitempty"`
	// CreatedAt is the creation time.
	CreatedAt time.Time `json:"createdAt"`
	// Health lists the volume's known problems, computed when the volume is
	// read and never persisted; empty means healthy.
	Health []HealthIssue `json:"-"`
}

// HealthIssue is one known problem of a volume.
type HealthIssue struct {
	// Kind classifies the problem.
	Kind HealthKind
	// Reason is a short CamelCase identifier, such as DataFileMissing.
	Reason string
	// Message explains the problem to a human.
	Message string
}

// HealthKind classifies a volume problem like the CSI VolumeHealthErrorType.
type HealthKind int

const (
	// HealthDegraded means the volume works with reduced guarantees.
	HealthDegraded HealthKind = iota + 1
	// HealthInaccessible means the volume cannot be reached.
	HealthInaccessible
	// HealthDataLoss means some of the volume's data is gone.
	HealthDataLoss
)

// SnapshotRequest describes the snapshot CreateSnapshot must cut.
type SnapshotRequest struct {
	// ID is the driver-assigned ID.
	ID SnapshotID
	// Name is the CSI name the ID was derived from.
	Name string
	// SourceVolume is the volume to copy.
	SourceVolume VolumeID
	// Parameters are the VolumeSnapshotClass parameters.
	Parameters map[string]string
}

// Snapshot describes an existing snapshot.
type Snapshot struct {
	// ID identifies the snapshot.
	ID SnapshotID `json:"id"`
	// Name is the CSI name the snapshot was created with.
	Name string `json:"name"`
	// SourceVolume is the volume the snapshot was cut from.
	SourceVolume VolumeID `json:"sourceVolume"`
	// SizeBytes is the size of a volume restored from the snapshot.
	SizeBytes int64 `json:"sizeBytes"`
	// CreatedAt is the time the snapshot was cut.
	CreatedAt time.Time `json:"createdAt"`
}

// Capacity describes the space left for new volumes.
type Capacity struct {
	// AvailableBytes is the total size of volumes that can still be created.
	AvailableBytes int64
	// MaximumVolumeBytes is the largest single volume that can be created.
	MaximumVolumeBytes int64
	// MinimumVolumeBytes is the smallest volume the backend creates.
	MinimumVolumeBytes int64
}
