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
	"os"
	"slices"
	"time"

	"github.com/plinth-dev/plinth/csi-driver/backend"
	"github.com/plinth-dev/plinth/internal/atomicfile"
)

// CreateVolume creates a sparse file of req.CapacityBytes, or a copy of the
// source grown to that size, when Capacity has room for all of it.
func (p *Pool) CreateVolume(ctx context.Context, req backend.VolumeRequest) (backend.Volume, error) {
	if err := validateVolumeRequest(req); err != nil {
		return backend.Volume{}, err
	}
	if existing, ok := p.volume(req.ID); ok {
		return existing, compatible(existing, req)
	}
	data, err := p.file(volumesDir, string(req.ID), dataExt)
	if err != nil {
		return backend.Volume{}, err
	}
	release, err := p.claim(ctx, req.CapacityBytes)
	if err != nil {
		return backend.Volume{}, err
	}
	defer release()
	if err := p.writeVolumeData(ctx, req, data); err != nil {
		return backend.Volume{}, err
	}
	vol := backend.Volume{
		ID:            req.ID,
		Name:          req.Name,
		CapacityBytes: req.CapacityBytes,
		Source:        req.Source,
		Parameters:    req.Parameters,
		CreatedAt:     time.Now().UTC(),
	}
	return vol, p.commitVolume(vol)
}

// validateVolumeRequest checks what the pool can honour. It checks the ID
// too, the pool's one check of a volume ID: here the ID becomes a file name,
// and every later call finds the volume by that name or in p.volumes.
func validateVolumeRequest(req backend.VolumeRequest) error {
	if _, err := backend.ParseVolumeID(string(req.ID)); err != nil {
		return err
	}
	if len(req.Parameters) > 0 {
		return fmt.Errorf("%w: the pool backend takes no parameters, got %v", backend.ErrInvalidArgument, slices.Sorted(maps.Keys(req.Parameters)))
	}
	if req.CapacityBytes <= 0 || req.CapacityBytes%sectorSize != 0 {
		return fmt.Errorf("%w: capacity %d is not a positive multiple of %d", backend.ErrInvalidArgument, req.CapacityBytes, sectorSize)
	}
	return nil
}

// compatible decides whether a repeated CreateVolume may return existing.
func compatible(existing backend.Volume, req backend.VolumeRequest) error {
	if existing.CapacityBytes != req.CapacityBytes || existing.Source != req.Source {
		return fmt.Errorf("%w: volume %s has %d bytes from %+v, requested %d bytes from %+v",
			backend.ErrExists, existing.ID, existing.CapacityBytes, existing.Source, req.CapacityBytes, req.Source)
	}
	return nil
}

// writeVolumeData writes the data file, which atomicfile puts in place
// whole, as a job that a retried call joins. Until the metadata commits the
// volume, the data file is a leftover that rebuild removes.
func (p *Pool) writeVolumeData(ctx context.Context, req backend.VolumeRequest, data string) error {
	return p.copies.run(ctx, string(req.ID), func(ctx context.Context) error {
		err := p.fillVolume(ctx, req, data)
		if err != nil {
			_ = os.Remove(data)
		}
		return err
	})
}

func (p *Pool) fillVolume(ctx context.Context, req backend.VolumeRequest, data string) error {
	if req.Source.IsZero() {
		return createSparse(data, req.CapacityBytes)
	}
	size, err := p.copySource(ctx, req.Source, data)
	if err != nil {
		return err
	}
	if req.CapacityBytes < size {
		return fmt.Errorf("%w: capacity %d is smaller than the source's %d bytes", backend.ErrOutOfRange, req.CapacityBytes, size)
	}
	return growFile(data, req.CapacityBytes)
}

// copySource copies the source into data and returns the source's size.
func (p *Pool) copySource(ctx context.Context, src backend.ContentSource, data string) (int64, error) {
	if src.Snapshot != "" {
		snap, err := p.GetSnapshot(ctx, src.Snapshot)
		if err != nil {
			return 0, err
		}
		from, err := p.file(snapshotsDir, string(snap.ID), dataExt)
		if err != nil {
			return 0, err
		}
		_, err = cloneFile(ctx, from, data)
		return snap.SizeBytes, noSpace(err)
	}
	vol, err := p.GetVolume(ctx, src.Volume)
	if err != nil {
		return 0, err
	}
	return vol.CapacityBytes, p.copyVolume(ctx, vol.ID, data)
}

// createSparse puts a sparse file of size bytes at path.
func createSparse(path string, size int64) error {
	err := atomicfile.WriteFunc(path, filePerm, func(f *os.File) error { return f.Truncate(size) })
	return noSpace(err)
}

// growFile grows the file at path to size bytes and makes the new size
// durable before the metadata records it.
func growFile(path string, size int64) error {
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		return fmt.Errorf("failed to open %s: %w", path, err)
	}
	err = f.Truncate(size)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return noSpace(fmt.Errorf("failed to grow %s: %w", path, err))
	}
	return nil
}

// commitVolume writes the metadata (the commit point) and records the volume.
func (p *Pool) commitVolume(vol backend.Volume) error {
	meta, err := p.file(volumesDir, string(vol.ID), metaExt)
	if err != nil {
		return err
	}
	if err := writeJSON(meta, vol); err != nil {
		return noSpace(err)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.volumes[vol.ID] = vol
	return nil
}

// DeleteVolume removes the metadata, then the data. A volume still attached
// to a loop device is detached first, or the deleted file would keep its
// space; one whose device is mounted is in use and is left untouched.
func (p *Pool) DeleteVolume(ctx context.Context, id backend.VolumeID) error {
	data, meta, err := p.volumeFiles(id)
	if err != nil {
		return err
	}
	if err := p.detachUnused(ctx, id, data); err != nil {
		return err
	}
	p.copies.stop(string(id))
	if err := atomicfile.Remove(meta); err != nil {
		return err
	}
	p.mu.Lock()
	delete(p.volumes, id)
	p.mu.Unlock()
	p.log.V(1).Info("Deleted volume metadata", "volumeID", id)
	return removeData(data)
}

// removeData removes a data file; a stopped copy has removed its own
// temporary file.
func removeData(data string) error {
	if err := os.Remove(data); err != nil && !os.IsNotExist(err) {
		return fmt.Errorf("failed to remove %s: %w", data, err)
	}
	return nil
}

// ExpandVolume grows the data file and, when attached, the loop device.
func (p *Pool) ExpandVolume(ctx context.Context, id backend.VolumeID, sizeBytes int64) (backend.Volume, error) {
	vol, err := p.GetVolume(ctx, id)
	if err != nil || sizeBytes <= vol.CapacityBytes {
		return vol, err
	}
	if sizeBytes%sectorSize != 0 {
		return backend.Volume{}, fmt.Errorf("%w: size %d is not a multiple of %d", backend.ErrInvalidArgument, sizeBytes, sectorSize)
	}
	release, err := p.claim(ctx, sizeBytes-vol.CapacityBytes)
	if err != nil {
		return backend.Volume{}, err
	}
	defer release()
	if err := p.growData(id, sizeBytes); err != nil {
		return backend.Volume{}, err
	}
	vol.CapacityBytes = sizeBytes
	vol.Health = nil
	return vol, p.commitVolume(vol)
}

// growData grows the file first and the metadata after: a crash in between
// leaves the old size recorded and a retried expansion completes it.
func (p *Pool) growData(id backend.VolumeID, sizeBytes int64) error {
	data, _, err := p.volumeFiles(id)
	if err != nil {
		return err
	}
	if err := growFile(data, sizeBytes); err != nil {
		return err
	}
	d, err := openLoop(data)
	if err != nil || d == nil {
		return err
	}
	defer func() { _ = d.close() }()
	return d.refresh()
}

// GetVolume returns the volume with its current condition.
func (p *Pool) GetVolume(_ context.Context, id backend.VolumeID) (backend.Volume, error) {
	vol, ok := p.volume(id)
	if !ok {
		return backend.Volume{}, fmt.Errorf("%w: volume %s", backend.ErrNotFound, id)
	}
	return p.withHealth(vol), nil
}

// ListVolumes returns all volumes ordered by ID.
func (p *Pool) ListVolumes(_ context.Context) ([]backend.Volume, error) {
	p.mu.RLock()
	vols := sortedValues(p.volumes)
	p.mu.RUnlock()
	for i := range vols {
		vols[i] = p.withHealth(vols[i])
	}
	return vols, nil
}

func (p *Pool) volume(id backend.VolumeID) (backend.Volume, bool) {
	p.mu.RLock()
	defer p.mu.RUnlock()
	vol, ok := p.volumes[id]
	return vol, ok
}

// withHealth checks that the data file is there and large enough.
func (p *Pool) withHealth(vol backend.Volume) backend.Volume {
	vol.Health = nil
	data, _, err := p.volumeFiles(vol.ID)
	if err != nil {
		vol.Health = []backend.HealthIssue{{Kind: backend.HealthInaccessible, Reason: "InvalidID", Message: err.Error()}}
		return vol
	}
	info, err := os.Stat(data)
	switch {
	case err != nil:
		vol.Health = []backend.HealthIssue{{Kind: backend.HealthDataLoss, Reason: "DataFileUnreadable", Message: err.Error()}}
	case info.Size() < vol.CapacityBytes:
		vol.Health = []backend.HealthIssue{{Kind: backend.HealthDataLoss, Reason: "DataFileTruncated",
			Message: fmt.Sprintf("data file holds %d of %d bytes", info.Size(), vol.CapacityBytes)}}
	}
	return vol
}

// volumeFiles returns the paths of the volume's data and metadata.
func (p *Pool) volumeFiles(id backend.VolumeID) (data, meta string, err error) {
	if data, err = p.file(volumesDir, string(id), dataExt); err != nil {
		return "", "", err
	}
	meta, err = p.file(volumesDir, string(id), metaExt)
	return data, meta, err
}

// copyVolume copies volume id to path with its content quiesced: a mounted
// filesystem is frozen for the duration of the (reflink) copy.
func (p *Pool) copyVolume(ctx context.Context, id backend.VolumeID, path string) error {
	data, _, err := p.volumeFiles(id)
	if err != nil {
		return err
	}
	device, err := findLoop(data)
	if err != nil {
		return err
	}
	thaw := func() error { return nil }
	if device != "" {
		if thaw, err = quiesce(device); err != nil {
			return err
		}
	}
	reflinked, err := cloneFile(ctx, data, path)
	if terr := thaw(); err == nil {
		err = terr
	}
	p.log.V(1).Info("Copied volume", "volumeID", id, "reflink", reflinked, "frozen", device != "")
	return noSpace(err)
}
