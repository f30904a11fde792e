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
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"

	"github.com/go-logr/logr"
	"golang.org/x/sys/unix"

	"github.com/plinth-dev/plinth/csi-driver/backend"
)

const (
	volumesDir   = "volumes"
	snapshotsDir = "snapshots"
	dataExt      = ".img"
	metaExt      = ".json"
	// sectorSize is the granularity of loop devices; sizes must be multiples of it.
	sectorSize = 512
)

// Options configures a Pool.
type Options struct {
	// Dir is the pool directory; it is created when missing.
	Dir string
	// OverProvisionRatio multiplies the size of the pool filesystem to give
	// the space the pool may promise to volumes and snapshots. Volumes are
	// sparse, so a ratio above 1 lets the sum of their sizes exceed the disk
	// (thin provisioning): a tenant's writes may then fail with I/O errors
	// once the disk is full. Zero means 1, no over-provisioning.
	OverProvisionRatio float64
	// ReserveBytes and ReservePercent (of the filesystem's size) keep space
	// free on the pool's filesystem for everything else that lives there;
	// the larger of the two applies. See Capacity.
	ReserveBytes   int64
	ReservePercent float64
	// Logger receives the pool's log lines.
	Logger logr.Logger
}

// Pool is the file-backed backend. It implements backend.Backend.
type Pool struct {
	dir     string
	ratio   float64
	reserve reserve
	log     logr.Logger

	mu        sync.RWMutex
	volumes   map[backend.VolumeID]backend.Volume
	snapshots map[backend.SnapshotID]backend.Snapshot
	// pending is the space claimed by creations and expansions in
	// progress, which their objects do not count yet.
	pending int64
	// claims serialises claim, so two claims never see the same space free.
	claims sync.Mutex

	copies jobs
}

var _ backend.Backend = (*Pool)(nil)

// New opens the pool at opts.Dir and rebuilds its state from the files there,
// removing the leftovers of operations interrupted by a crash.
func New(opts Options) (*Pool, error) {
	dir, err := resolveDir(opts.Dir)
	if err != nil {
		return nil, err
	}
	ratio := opts.OverProvisionRatio
	if ratio == 0 {
		ratio = 1
	}
	if ratio < 0 || math.IsNaN(ratio) || math.IsInf(ratio, 0) {
		return nil, fmt.Errorf("failed to open pool: over-provisioning ratio %v is not a positive number", ratio)
	}
	res, err := newReserve(opts.ReserveBytes, opts.ReservePercent)
	if err != nil {
		return nil, err
	}
	p := &Pool{
		dir:       dir,
		ratio:     ratio,
		reserve:   res,
		log:       opts.Logger,
		volumes:   map[backend.VolumeID]backend.Volume{},
		snapshots: map[backend.SnapshotID]backend.Snapshot{},
	}
	if err := p.rebuild(); err != nil {
		return nil, err
	}
	return p, nil
}

// resolveDir creates the pool layout and returns the absolute, symlink-free
// path of dir.
func resolveDir(dir string) (string, error) {
	if dir == "" {
		return "", errors.New("failed to open pool: no directory given")
	}
	for _, sub := range []string{volumesDir, snapshotsDir} {
		if err := os.MkdirAll(filepath.Join(dir, sub), 0o700); err != nil {
			return "", fmt.Errorf("failed to create pool directory: %w", err)
		}
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return "", fmt.Errorf("failed to resolve pool directory: %w", err)
	}
	resolved, err := filepath.EvalSymlinks(abs)
	if err != nil {
		return "", fmt.Errorf("failed to resolve pool directory: %w", err)
	}
	return resolved, nil
}

// file returns the path of an object's file. The ID has been validated by
// the caller; filepath.IsLocal is a second line of defence.
func (p *Pool) file(kindDir, id, ext string) (string, error) {
	name := id + ext
	if !filepath.IsLocal(name) || strings.ContainsRune(name, os.PathSeparator) {
		return "", fmt.Errorf("%w: %q", backend.ErrInvalidID, id)
	}
	return filepath.Join(p.dir, kindDir, name), nil
}

// Probe checks that the pool directories exist and are writable.
func (p *Pool) Probe(_ context.Context) error {
	for _, sub := range []string{volumesDir, snapshotsDir} {
		if err := unix.Access(filepath.Join(p.dir, sub), unix.W_OK|unix.X_OK); err != nil {
			return fmt.Errorf("failed to access pool directory %s: %w", sub, err)
		}
	}
	return nil
}

// noSpace adds backend.ErrNoSpace to the chain of an ENOSPC error.
func noSpace(err error) error {
	if errors.Is(err, unix.ENOSPC) && !errors.Is(err, backend.ErrNoSpace) {
		return fmt.Errorf("%w: %w", backend.ErrNoSpace, err)
	}
	return err
}

func sortedValues[K ~string, V any](m map[K]V) []V {
	keys := make([]K, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return keys[i] < keys[j] })
	values := make([]V, 0, len(keys))
	for _, k := range keys {
		values = append(values, m[k])
	}
	return values
}
