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

	"github.com/container-storage-interface/spec/lib/go/csi"
	"github.com/go-logr/logr"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/plinth-dev/plinth/csi-driver/backend"
)

// The parsers in this file are the only code that turns the ID strings of a
// request into backend.VolumeID and backend.SnapshotID. Each RPC calls one
// of them once, before anything else reads the IDs, and passes the typed
// values on; the backend never sees a string it would have to check.

// parseVolumeID parses the volume ID a request gives in field. A missing one
// is InvalidArgument. One that is not in the driver's format names no volume
// the driver could have created: the volume does not exist, NotFound,
// decided without touching the disk. An RPC therefore checks its other
// arguments first, so that a bad request is InvalidArgument whatever its ID.
func parseVolumeID(field, raw string) (backend.VolumeID, error) {
	if err := required(field, raw); err != nil {
		return "", err
	}
	id, err := backend.ParseVolumeID(raw)
	if err != nil {
		return "", status.Errorf(codes.NotFound, "%s: no such volume: %v", field, err)
	}
	return id, nil
}

// parseSnapshotID parses the snapshot ID a request gives in field as
// parseVolumeID does volume IDs: missing is InvalidArgument, not in the
// driver's format NotFound.
func parseSnapshotID(field, raw string) (backend.SnapshotID, error) {
	if err := required(field, raw); err != nil {
		return "", err
	}
	id, err := backend.ParseSnapshotID(raw)
	if err != nil {
		return "", status.Errorf(codes.NotFound, "%s: no such snapshot: %v", field, err)
	}
	return id, nil
}

// parseDeletionID parses the ID of a DeleteVolume or DeleteSnapshot. A
// missing ID is InvalidArgument. A malformed one names nothing the driver
// could have created, so it is already deleted: named is false.
func parseDeletionID[ID ~string](ctx context.Context, field, raw string, parse func(string) (ID, error)) (id ID, named bool, err error) {
	if err := required(field, raw); err != nil {
		return "", false, err
	}
	id, err = parse(raw)
	if err != nil {
		logr.FromContextOrDiscard(ctx).Info("Ignoring deletion of an ID the driver never issues", "field", field, "id", raw)
		return "", false, nil
	}
	return id, true, nil
}

// parseContentSource parses the source of a new volume. A malformed ID
// cannot name an existing object, so it is NotFound.
func parseContentSource(src *csi.VolumeContentSource) (backend.ContentSource, error) {
	switch {
	case src == nil:
		return backend.ContentSource{}, nil
	case src.GetSnapshot() != nil:
		id, err := backend.ParseSnapshotID(src.GetSnapshot().GetSnapshotId())
		if err != nil {
			return backend.ContentSource{}, status.Errorf(codes.NotFound, "volume_content_source.snapshot.snapshot_id: %v", err)
		}
		return backend.ContentSource{Snapshot: id}, nil
	case src.GetVolume() != nil:
		id, err := backend.ParseVolumeID(src.GetVolume().GetVolumeId())
		if err != nil {
			return backend.ContentSource{}, status.Errorf(codes.NotFound, "volume_content_source.volume.volume_id: %v", err)
		}
		return backend.ContentSource{Volume: id}, nil
	default:
		return backend.ContentSource{}, status.Error(codes.InvalidArgument, "volume_content_source must name a snapshot or a volume")
	}
}

// snapshotFilter selects the snapshots ListSnapshots returns.
type snapshotFilter struct {
	id     backend.SnapshotID // empty matches every snapshot
	source backend.VolumeID   // empty matches every source
	// none is set by a malformed ID, which names no snapshot or volume.
	none bool
}

// parseSnapshotFilter parses the optional filters of ListSnapshots.
func parseSnapshotFilter(req *csi.ListSnapshotsRequest) snapshotFilter {
	var f snapshotFilter
	var idErr, sourceErr error
	if raw := req.GetSnapshotId(); raw != "" {
		f.id, idErr = backend.ParseSnapshotID(raw)
	}
	if raw := req.GetSourceVolumeId(); raw != "" {
		f.source, sourceErr = backend.ParseVolumeID(raw)
	}
	f.none = idErr != nil || sourceErr != nil
	return f
}

func (f snapshotFilter) apply(snaps []backend.Snapshot) []backend.Snapshot {
	var out []backend.Snapshot
	for _, s := range snaps {
		if !f.none && (f.id == "" || s.ID == f.id) && (f.source == "" || s.SourceVolume == f.source) {
			out = append(out, s)
		}
	}
	return out
}

// nodeVolume is the volume a node call names: by its ID, or by the handle
// kubelet gives an inline ephemeral volume, from which the ID of the backing
// volume derives.
type nodeVolume struct {
	id backend.VolumeID
	// handle is kubelet's volume_id of an inline ephemeral volume, which the
	// backing volume's name records; empty for any other volume.
	handle string
}

// parseNodeVolumeID parses the volume_id of a node call that serves inline
// ephemeral volumes too; otherwise as parseVolumeID.
func parseNodeVolumeID(field, raw string) (nodeVolume, error) {
	if isEphemeralHandle(raw) {
		return ephemeralNodeVolume(raw), nil
	}
	id, err := parseVolumeID(field, raw)
	return nodeVolume{id: id}, err
}

// parseEphemeralHandle parses the volume_id of the NodePublishVolume of an
// inline ephemeral volume.
func parseEphemeralHandle(field, raw string) (nodeVolume, error) {
	if !isEphemeralHandle(raw) {
		return nodeVolume{}, status.Errorf(codes.InvalidArgument,
			"%s %q of an inline ephemeral volume must be %q and %d lowercase hex digits", field, raw, ephemeralHandlePrefix, ephemeralHandleHexDigits)
	}
	return ephemeralNodeVolume(raw), nil
}

// ephemeralNodeVolume derives the backing volume of an inline volume from
// kubelet's handle, as from any CSI name.
func ephemeralNodeVolume(handle string) nodeVolume {
	return nodeVolume{id: backend.NewVolumeID(handle), handle: handle}
}
