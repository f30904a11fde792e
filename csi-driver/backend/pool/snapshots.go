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

package pool

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/plinth-dev/plinth/csi-driver/backend"
	"github.com/plinth-dev/plinth/internal/atomicfile"
)

// CreateSnapshot copies the source volume (a reflink where possible) with
// its filesystem frozen when mounted. A snapshot counts against Capacity
// with its source's size, so it fails with backend.ErrNoSpace when the
// pool cannot promise that much more.
func (p *Pool) CreateSnapshot(ctx context.Context, req backend.SnapshotRequest) (backend.Snapshot, error) {
	data, err := p.validateSnapshotRequest(req)
	if err != nil {
		return backend.Snapshot{}, err
	}
	if existing, ok := p.snapshot(req.ID); ok {
		if existing.SourceVolume != req.SourceVolume {
			return backend.Snapshot{}, fmt.Errorf("%w: snapshot %s is of volume %s, requested of %s", backend.ErrExists, req.ID, existing.SourceVolume, req.SourceVolume)
		}
		return existing, nil
	}
	source, err := p.GetVolume(ctx, req.SourceVolume)
	if err != nil {
		return backend.Snapshot{}, err
	}
	release, err := p.claim(ctx, source.CapacityBytes)
	if err != nil {
		return backend.Snapshot{}, err
	}
	defer release()
	if err := p.writeSnapshotData(ctx, source.ID, req.ID, data); err != nil {
		return backend.Snapshot{}, err
	}
	snap := backend.Snapshot{
		ID:           req.ID,
		Name:         req.Name,
		SourceVolume: source.ID,
		SizeBytes:    source.CapacityBytes,
		CreatedAt:    time.Now().UTC(),
	}
	return snap, p.commitSnapshot(snap)
}

// validateSnapshotRequest checks the request and returns the data file path.
// It checks the ID too, the pool's one check of a snapshot ID: here the ID
// becomes a file name, and every later call finds the snapshot by that name
// or in p.snapshots.
func (p *Pool) validateSnapshotRequest(req backend.SnapshotRequest) (string, error) {
	if _, err := backend.ParseSnapshotID(string(req.ID)); err != nil {
		return "", err
	}
	if len(req.Parameters) > 0 {
		return "", fmt.Errorf("%w: the pool backend takes no snapshot parameters, got %v", backend.ErrInvalidArgument, slices.Sorted(maps.Keys(req.Parameters)))
	}
	data, _, err := p.snapshotFiles(req.ID)
	return data, err
}

// writeSnapshotData copies the source to the data file, which atomicfile
// puts in place whole, as a job that a retried call joins.
func (p *Pool) writeSnapshotData(ctx context.Context, source backend.VolumeID, id backend.SnapshotID, data string) error {
	return p.copies.run(ctx, string(id), func(ctx context.Context) error {
		return p.copyVolume(ctx, source, data)
	})
}

func (p *Pool) commitSnapshot(snap backend.Snapshot) error {
	_, meta, err := p.snapshotFiles(snap.ID)
	if err != nil {
		return err
	}
	if err := writeJSON(meta, snap); err != nil {
		return noSpace(err)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.snapshots[snap.ID] = snap
	return nil
}

// DeleteSnapshot removes the metadata, then the data. Volumes restored from
// the snapshot are independent copies and are not affected.
func (p *Pool) DeleteSnapshot(_ context.Context, id backend.SnapshotID) error {
	data, meta, err := p.snapshotFiles(id)
	if err != nil {
		return err
	}
	p.copies.stop(string(id))
	if err := atomicfile.Remove(meta); err != nil {
		return err
	}
	p.mu.Lock()
	delete(p.snapshots, id)
	p.mu.Unlock()
	return removeData(data)
}

// GetSnapshot returns the snapshot or backend.ErrNotFound.
func (p *Pool) GetSnapshot(_ context.Context, id backend.SnapshotID) (backend.Snapshot, error) {
	snap, ok := p.snapshot(id)
	if !ok {
		return backend.Snapshot{}, fmt.Errorf("%w: snapshot %s", backend.ErrNotFound, id)
	}
	return snap, nil
}

// ListSnapshots returns all snapshots ordered by ID.
func (p *Pool) ListSnapshots(_ context.Context) ([]backend.Snapshot, error) {
	p.mu.RLock()
	defer p.mu.RUnlock()
	return sortedValues(p.snapshots), nil
}

func (p *Pool) snapshot(id backend.SnapshotID) (backend.Snapshot, bool) {
	p.mu.RLock()
	defer p.mu.RUnlock()
	snap, ok := p.snapshots[id]
	return snap, ok
}

// snapshotFiles returns the paths of the snapshot's data and metadata.
func (p *Pool) snapshotFiles(id backend.SnapshotID) (data, meta string, err error) {
	if data, err = p.file(snapshotsDir, string(id), dataExt); err != nil {
		return "", "", err
	}
	meta, err = p.file(snapshotsDir, string(id), metaExt)
	return data, meta, err
}
