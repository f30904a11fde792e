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

package pool_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/plinth-dev/plinth/csi-driver/backend"
	"github.com/plinth-dev/plinth/csi-driver/backend/pool"
	"github.com/plinth-dev/plinth/test/testpool"
)

// slack is the space the pool's own metadata files may take between two
// readings of the capacity.
const slack = 256 << 10

// capacityPool opens a pool with opts on a fresh ext4 filesystem of 256
// MiB and returns it with the filesystem's mount point.
func capacityPool(t *testing.T, opts pool.Options) (*pool.Pool, string) {
	t.Helper()
	mnt := testpool.Mount(t, testpool.Ext4, 256*mib)
	opts.Dir = filepath.Join(mnt, "pool")
	p, err := pool.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	return p, mnt
}

func available(t *testing.T, p *pool.Pool) int64 {
	t.Helper()
	c, err := p.Capacity(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if c.MaximumVolumeBytes != c.AvailableBytes {
		t.Errorf("maximum volume %d, available %d: want them equal", c.MaximumVolumeBytes, c.AvailableBytes)
	}
	return c.AvailableBytes
}

// freeBytes is what an unprivileged writer may still allocate on the
// filesystem at dir.
func freeBytes(t *testing.T, dir string) int64 {
	t.Helper()
	var st unix.Statfs_t
	if err := unix.Statfs(dir, &st); err != nil {
		t.Fatal(err)
	}
	return int64(st.Bavail) * st.Bsize
}

// expectDrop checks that the capacity went from before to after by drop,
// give or take the pool's metadata.
func expectDrop(t *testing.T, what string, before, after, drop int64) {
	t.Helper()
	if got := before - after; got < drop || got > drop+slack {
		t.Errorf("%s took %d bytes of capacity (%d -> %d), want %d", what, got, before, after, drop)
	}
}

// TestCapacityIsWhatIsNotPromised: at ratio 1 the capacity is the free
// space less what the volumes and snapshots were promised and have not
// written yet, so sparse volumes cannot be promised more than the disk
// holds; files outside the pool on its filesystem count too; a volume or
// snapshot that does not fit is ErrNoSpace.
func TestCapacityIsWhatIsNotPromised(t *testing.T) {
	ctx := context.Background()
	p, mnt := capacityPool(t, pool.Options{OverProvisionRatio: 1})
	c0 := available(t, p)
	if free := freeBytes(t, mnt); c0 > free || c0 < free-slack {
		t.Fatalf("empty pool offers %d bytes, want the %d free", c0, free)
	}
	vol := create(t, p, "a", 64*mib)
	c1 := available(t, p)
	expectDrop(t, "a sparse 64 MiB volume", c0, c1, 64*mib)

	if _, err := p.CreateSnapshot(ctx, backend.SnapshotRequest{ID: backend.NewSnapshotID("s"), SourceVolume: vol.ID}); err != nil {
		t.Fatal(err)
	}
	c2 := available(t, p)
	expectDrop(t, "a snapshot of it", c1, c2, 64*mib)

	if err := os.WriteFile(filepath.Join(mnt, "other"), make([]byte, 32*mib), 0o600); err != nil {
		t.Fatal(err)
	}
	c3 := available(t, p)
	expectDrop(t, "a 32 MiB file outside the pool", c2, c3, 32*mib)

	_, err := p.CreateVolume(ctx, backend.VolumeRequest{ID: backend.NewVolumeID("b"), CapacityBytes: c3 + mib})
	if !errors.Is(err, backend.ErrNoSpace) {
		t.Fatalf("volume larger than the capacity: %v, want ErrNoSpace", err)
	}
	create(t, p, "c", c3-32*mib)
	_, err = p.CreateSnapshot(ctx, backend.SnapshotRequest{ID: backend.NewSnapshotID("t"), SourceVolume: vol.ID})
	if !errors.Is(err, backend.ErrNoSpace) {
		t.Fatalf("snapshot larger than the capacity: %v, want ErrNoSpace", err)
	}
	if _, err := p.ExpandVolume(ctx, vol.ID, vol.CapacityBytes+64*mib); !errors.Is(err, backend.ErrNoSpace) {
		t.Fatalf("expansion beyond the capacity: %v, want ErrNoSpace", err)
	}
}

// TestCapacityKeepsTheReserveFree: the larger of the reserve's bytes and
// percentage stays free.
func TestCapacityKeepsTheReserveFree(t *testing.T) {
	for name, tc := range map[string]struct {
		opts    pool.Options
		reserve int64
	}{
		"percent": {pool.Options{ReservePercent: 50, ReserveBytes: mib}, -1},
		"bytes":   {pool.Options{ReservePercent: 10, ReserveBytes: 200 * mib}, 200 * mib},
	} {
		t.Run(name, func(t *testing.T) {
			p, mnt := capacityPool(t, tc.opts)
			got, free := available(t, p), freeBytes(t, mnt)
			if tc.reserve < 0 {
				var st unix.Statfs_t
				if err := unix.Statfs(mnt, &st); err != nil {
					t.Fatal(err)
				}
				tc.reserve = int64(st.Blocks) * st.Bsize / 2
			}
			if got > free-tc.reserve || got < free-tc.reserve-slack {
				t.Errorf("capacity %d with %d free, want the free space less the reserve of %d", got, free, tc.reserve)
			}
		})
	}
}

// TestCapacityOverProvisioned: at ratio 2 the pool may promise twice its
// size, but only as much as half of the unwritten promises leaves free.
func TestCapacityOverProvisioned(t *testing.T) {
	p, _ := capacityPool(t, pool.Options{OverProvisionRatio: 2})
	c0 := available(t, p)
	create(t, p, "a", c0-c0%mib)
	if c1 := available(t, p); c1 < c0/2-slack-mib || c1 > c0/2+mib {
		t.Errorf("after promising %d bytes at ratio 2, capacity %d, want about half", c0, c1)
	}
}

func TestReserveMustBeSane(t *testing.T) {
	for _, opts := range []pool.Options{{ReserveBytes: -1}, {ReservePercent: 100}, {ReservePercent: -1}} {
		opts.Dir = t.TempDir()
		if _, err := pool.New(opts); err == nil {
			t.Errorf("pool.New(%+v) succeeded, want an error", opts)
		}
	}
}
