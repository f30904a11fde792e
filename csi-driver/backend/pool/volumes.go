package pool

import (
	"context"
	"fmt"
	"maps"
	"os"
	"slices"
	"time"

	"github.com/plinth-dev/plinth/csi-driver/backend"
)

// CreateVolume creates a sparse file of req.CapacityBytes, or a copy of the
// source grown to that size.
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
	if err := p.ensureSpace(ctx, req.CapacityBytes); err != nil {
		return backend.Volume{}, err
	}
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

// writeVolumeData creates the data file under a temporary name and renames it
// into place, so the final name only ever holds complete data. The copy runs
// as a job that a retried call joins.
func (p *Pool) writeVolumeData(ctx context.Context, req backend.VolumeRequest, data string) error {
	return p.copies.run(ctx, string(req.ID), func(ctx context.Context) error {
		tmp := data + tmpSuffix
		if err := os.Remove(tmp); err != nil && !os.IsNotExist(err) {
			return fmt.Errorf("failed to remove stale %s: %w", tmp, err)
		}
		if err := p.fillVolume(ctx, req, tmp); err != nil {
			_ = os.Remove(tmp)
			return err
		}
		if err := os.Rename(tmp, data); err != nil {
			_ = os.Remove(tmp)
			return fmt.Errorf("failed to rename %s: %w", tmp, err)
		}
		return nil
	})
}

func (p *Pool) fillVolume(ctx context.Context, req backend.VolumeRequest, path string) error {
	if req.Source.IsZero() {
		return createSparse(path, req.CapacityBytes)
	}
	size, err := p.copySource(ctx, req.Source, path)
	if err != nil {
		return err
	}
	if req.CapacityBytes < size {
		return fmt.Errorf("%w: capacity %d is smaller than the source's %d bytes", backend.ErrOutOfRange, req.CapacityBytes, size)
	}
	if err := os.Truncate(path, req.CapacityBytes); err != nil {
		return noSpace(fmt.Errorf("failed to grow %s: %w", path, err))
	}
	return nil
}

// copySource copies the source into path and returns the source's size.
func (p *Pool) copySource(ctx context.Context, src backend.ContentSource, path string) (int64, error) {
	if src.Snapshot != "" {
		snap, err := p.GetSnapshot(ctx, src.Snapshot)
		if err != nil {
			return 0, err
		}
		from, err := p.file(snapshotsDir, string(snap.ID), dataExt)
		if err != nil {
			return 0, err
		}
		_, err = cloneFile(ctx, from, path)
		return snap.SizeBytes, noSpace(err)
	}
	vol, err := p.GetVolume(ctx, src.Volume)
	if err != nil {
		return 0, err
	}
	return vol.CapacityBytes, p.copyVolume(ctx, vol.ID, path)
}

func createSparse(path string, size int64) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("failed to create %s: %w", path, err)
	}
	if err := f.Truncate(size); err != nil {
		_ = f.Close()
		return noSpace(fmt.Errorf("failed to size %s: %w", path, err))
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("failed to close %s: %w", path, err)
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
	if err := removeSynced(meta); err != nil {
		return err
	}
	p.mu.Lock()
	delete(p.volumes, id)
	p.mu.Unlock()
	p.log.V(1).Info("Deleted volume metadata", "volumeID", id)
	return removeData(data)
}

func removeData(data string) error {
	for _, path := range []string{data, data + tmpSuffix} {
		if err := os.Remove(path); err != nil && !os.IsNotExist(err) {
			return fmt.Errorf("failed to remove %s: %w", path, err)
		}
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
	if err := p.ensureSpace(ctx, sizeBytes-vol.CapacityBytes); err != nil {
		return backend.Volume{}, err
	}
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
	if err := os.Truncate(data, sizeBytes); err != nil {
		return noSpace(fmt.Errorf("failed to grow %s: %w", data, err))
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
	if _, err := backend.ParseVolumeID(string(id)); err != nil {
		return backend.Volume{}, err
	}
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

// volumeFiles validates id and returns the paths of its data and metadata.
func (p *Pool) volumeFiles(id backend.VolumeID) (data, meta string, err error) {
	if _, err := backend.ParseVolumeID(string(id)); err != nil {
		return "", "", err
	}
	if data, err = p.file(volumesDir, string(id), dataExt); err != nil {
		return "", "", err
	}
	meta, err = p.file(volumesDir, string(id), metaExt)
	return data, meta, err
}

// copyVolume copies volume id into path with its content quiesced: a mounted
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
