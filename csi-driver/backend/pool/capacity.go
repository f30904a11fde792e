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
	"math"
	"os"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/plinth-dev/plinth/csi-driver/backend"
)

// reserve is the space kept free on the pool's filesystem.
type reserve struct {
	bytes   int64
	percent float64
}

func newReserve(bytes int64, percent float64) (reserve, error) {
	if bytes < 0 {
		return reserve{}, fmt.Errorf("failed to open pool: reserve of %d bytes is negative", bytes)
	}
	if percent < 0 || percent >= 100 || math.IsNaN(percent) {
		return reserve{}, fmt.Errorf("failed to open pool: reserve of %v%% is not in [0, 100)", percent)
	}
	return reserve{bytes: bytes, percent: percent}, nil
}

// of returns the bytes to keep free on a filesystem of fsBytes.
func (r reserve) of(fsBytes int64) int64 {
	return max(r.bytes, int64(float64(fsBytes)*r.percent/100))
}

// usage is what the pool has promised and what its filesystem holds.
type usage struct {
	// fsBytes and freeBytes are the size of the pool's filesystem and the
	// space an unprivileged writer may still allocate there.
	fsBytes, freeBytes int64
	// provisionedBytes is the sum of the sizes of all volumes and
	// snapshots, and of the creations and expansions in progress.
	provisionedBytes int64
	// unwrittenBytes is the part of provisionedBytes that the data files
	// do not occupy yet: what the volumes may still take from freeBytes.
	unwrittenBytes int64
}

// Capacity reports the space new volumes and snapshots may still be given:
//
//	size of the filesystem x ratio - provisioned
//
// where provisioned is the sum of the sizes of all volumes and snapshots.
// Snapshots count on every filesystem: a copy holds its data from the
// start, and a reflink comes to hold as much as the source overwrites.
// The answer never exceeds what keeps the reserve free on the filesystem,
// which other files may share, once every volume is written full:
//
//	free space - reserve - unwritten / ratio
//
// With a ratio of 1 no volume's writes can ever find the disk full; with a
// ratio r the admin accepts that they may, once more than 1/r of the space
// promised is written.
func (p *Pool) Capacity(_ context.Context) (backend.Capacity, error) {
	u, err := p.usage()
	if err != nil {
		return backend.Capacity{}, err
	}
	available := p.available(u)
	return backend.Capacity{
		AvailableBytes:     available,
		MaximumVolumeBytes: available,
		MinimumVolumeBytes: sectorSize,
	}, nil
}

// available applies the formulas of Capacity to u.
func (p *Pool) available(u usage) int64 {
	logical := float64(u.fsBytes)*p.ratio - float64(u.provisionedBytes)
	physical := float64(u.freeBytes-p.reserve.of(u.fsBytes)) - float64(u.unwrittenBytes)/p.ratio
	n := int64(max(0, min(logical, physical, math.MaxInt64/2)))
	return n - n%sectorSize
}

// usage reads the filesystem's figures and adds up the pool's objects.
func (p *Pool) usage() (usage, error) {
	var st unix.Statfs_t
	if err := unix.Statfs(p.dir, &st); err != nil {
		return usage{}, fmt.Errorf("failed to stat pool filesystem: %w", err)
	}
	bsize := int64(st.Bsize) //nolint:unconvert // Bsize is 32 bits on some platforms
	u := usage{
		fsBytes:   int64(min(st.Blocks, math.MaxInt64/uint64(max(bsize, 1)))) * bsize, //nolint:gosec // clamped
		freeBytes: int64(min(st.Bavail, math.MaxInt64/uint64(max(bsize, 1)))) * bsize, //nolint:gosec // clamped
	}
	p.mu.RLock()
	defer p.mu.RUnlock()
	u.provisionedBytes, u.unwrittenBytes = p.pending, p.pending
	for id, v := range p.volumes {
		u.add(v.CapacityBytes, p.allocated(volumesDir, string(id)))
	}
	for id, s := range p.snapshots {
		u.add(s.SizeBytes, p.allocated(snapshotsDir, string(id)))
	}
	return u, nil
}

func (u *usage) add(size, allocated int64) {
	u.provisionedBytes += size
	u.unwrittenBytes += max(0, size-allocated)
}

// allocated returns the bytes the data file of an object occupies; a
// missing file occupies nothing.
func (p *Pool) allocated(kindDir, id string) int64 {
	data, err := p.file(kindDir, id, dataExt)
	if err != nil {
		return 0
	}
	info, err := os.Stat(data)
	if err != nil {
		return 0
	}
	st, ok := info.Sys().(*syscall.Stat_t)
	if !ok {
		return info.Size()
	}
	return st.Blocks * 512 // st_blocks counts 512-byte units whatever the block size
}

// claim reserves bytes for a creation or expansion, or fails with
// backend.ErrNoSpace when they are not available. The caller calls release
// once the object records the bytes, or has failed.
func (p *Pool) claim(ctx context.Context, bytes int64) (release func(), err error) {
	p.claims.Lock()
	defer p.claims.Unlock()
	c, err := p.Capacity(ctx)
	if err != nil {
		return nil, err
	}
	if bytes > c.AvailableBytes {
		return nil, fmt.Errorf("%w: %d bytes requested, %d available", backend.ErrNoSpace, bytes, c.AvailableBytes)
	}
	p.mu.Lock()
	p.pending += bytes
	p.mu.Unlock()
	return func() {
		p.mu.Lock()
		p.pending -= bytes
		p.mu.Unlock()
	}, nil
}
