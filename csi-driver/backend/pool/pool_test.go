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

	"github.com/go-logr/logr/testr"

	"github.com/plinth-dev/plinth/csi-driver/backend"
	"github.com/plinth-dev/plinth/csi-driver/backend/pool"
)

const mib = 1 << 20

func openPool(t *testing.T, dir string) *pool.Pool {
	t.Helper()
	p, err := pool.New(pool.Options{Dir: dir, OverProvisionRatio: 100, Logger: testr.New(t)})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func create(t *testing.T, p *pool.Pool, name string, size int64) backend.Volume {
	t.Helper()
	v, err := p.CreateVolume(context.Background(), backend.VolumeRequest{ID: backend.NewVolumeID(name), Name: name, CapacityBytes: size})
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

func TestCreateVolumeIsIdempotentAndReportsConflicts(t *testing.T) {
	ctx := context.Background()
	p := openPool(t, t.TempDir())
	first := create(t, p, "pvc-a", 8*mib)
	snap, err := p.CreateSnapshot(ctx, backend.SnapshotRequest{ID: backend.NewSnapshotID("s"), SourceVolume: first.ID})
	if err != nil {
		t.Fatal(err)
	}
	for name, tc := range map[string]struct {
		req  backend.VolumeRequest
		want error
	}{
		"same request returns the volume": {backend.VolumeRequest{ID: first.ID, CapacityBytes: 8 * mib}, nil},
		"other size is a conflict":        {backend.VolumeRequest{ID: first.ID, CapacityBytes: 16 * mib}, backend.ErrExists},
		"other source is a conflict": {backend.VolumeRequest{ID: first.ID, CapacityBytes: 8 * mib,
			Source: backend.ContentSource{Snapshot: snap.ID}}, backend.ErrExists},
		"missing source snapshot": {backend.VolumeRequest{ID: backend.NewVolumeID("b"), CapacityBytes: 8 * mib,
			Source: backend.ContentSource{Snapshot: backend.NewSnapshotID("gone")}}, backend.ErrNotFound},
		"missing source volume": {backend.VolumeRequest{ID: backend.NewVolumeID("b"), CapacityBytes: 8 * mib,
			Source: backend.ContentSource{Volume: backend.NewVolumeID("gone")}}, backend.ErrNotFound},
		"smaller than its source": {backend.VolumeRequest{ID: backend.NewVolumeID("b"), CapacityBytes: 4 * mib,
			Source: backend.ContentSource{Snapshot: snap.ID}}, backend.ErrOutOfRange},
		"larger than the pool":  {backend.VolumeRequest{ID: backend.NewVolumeID("b"), CapacityBytes: 1 << 62}, backend.ErrNoSpace},
		"unknown parameter":     {backend.VolumeRequest{ID: backend.NewVolumeID("b"), CapacityBytes: mib, Parameters: map[string]string{"x": "y"}}, backend.ErrInvalidArgument},
		"size not in sectors":   {backend.VolumeRequest{ID: backend.NewVolumeID("b"), CapacityBytes: mib + 1}, backend.ErrInvalidArgument},
		"forged traversal ID":   {backend.VolumeRequest{ID: "vol-../../../../tmp/x", CapacityBytes: mib}, backend.ErrInvalidID},
		"snapshot ID as volume": {backend.VolumeRequest{ID: backend.VolumeID(snap.ID), CapacityBytes: mib}, backend.ErrInvalidID},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := p.CreateVolume(ctx, tc.req)
			if !errors.Is(err, tc.want) || (tc.want == nil) != (err == nil) {
				t.Fatalf("CreateVolume error = %v, want %v", err, tc.want)
			}
		})
	}
	if _, err := p.GetVolume(ctx, backend.NewVolumeID("b")); !errors.Is(err, backend.ErrNotFound) {
		t.Errorf("a failed CreateVolume left a volume behind: %v", err)
	}
}

func TestDeleteIsIdempotentAndLeavesNoFiles(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	p := openPool(t, dir)
	vol := create(t, p, "pvc-a", mib)
	snap, err := p.CreateSnapshot(ctx, backend.SnapshotRequest{ID: backend.NewSnapshotID("s"), SourceVolume: vol.ID})
	if err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if err := p.DeleteVolume(ctx, vol.ID); err != nil {
			t.Fatal(err)
		}
		if err := p.DeleteSnapshot(ctx, snap.ID); err != nil {
			t.Fatal(err)
		}
	}
	for _, sub := range []string{"volumes", "snapshots"} {
		entries, err := os.ReadDir(filepath.Join(dir, sub))
		if err != nil {
			t.Fatal(err)
		}
		if len(entries) != 0 {
			t.Errorf("%s still holds %v", sub, entries)
		}
	}
}

func TestSnapshotOutlivesItsSourceVolume(t *testing.T) {
	ctx := context.Background()
	p := openPool(t, t.TempDir())
	vol := create(t, p, "pvc-a", mib)
	snap, err := p.CreateSnapshot(ctx, backend.SnapshotRequest{ID: backend.NewSnapshotID("s"), SourceVolume: vol.ID})
	if err != nil {
		t.Fatal(err)
	}
	if err := p.DeleteVolume(ctx, vol.ID); err != nil {
		t.Fatal(err)
	}
	restored, err := p.CreateVolume(ctx, backend.VolumeRequest{ID: backend.NewVolumeID("r"), CapacityBytes: 2 * mib, Source: backend.ContentSource{Snapshot: snap.ID}})
	if err != nil {
		t.Fatal(err)
	}
	if restored.CapacityBytes != 2*mib {
		t.Errorf("restored volume has %d bytes, want %d", restored.CapacityBytes, 2*mib)
	}
}

// TestRestartRebuildsStateAndRemovesLeftoversOfACrash simulates a crash at
// each step of create, expand and delete by leaving the files that step
// would have left, then reopens the pool.
func TestRestartRebuildsStateAndRemovesLeftoversOfACrash(t *testing.T) {
	ctx := context.Background()
	for name, tc := range map[string]struct {
		crash      func(t *testing.T, volumes string, id backend.VolumeID)
		wantExists bool
		wantSize   int64
	}{
		"crash while writing data of a new volume": {
			crash:      func(t *testing.T, dir string, id backend.VolumeID) { touch(t, dir, string(id)+".img.tmp", mib) },
			wantExists: false,
		},
		"crash after data, before metadata": {
			crash:      func(t *testing.T, dir string, id backend.VolumeID) { touch(t, dir, string(id)+".img", mib) },
			wantExists: false,
		},
		"crash before renaming the metadata": {
			crash: func(t *testing.T, dir string, id backend.VolumeID) {
				touch(t, dir, string(id)+".img", mib)
				touch(t, dir, string(id)+".json.tmp", 10)
			},
			wantExists: false,
		},
		"crash during expansion after growing data": {
			crash: func(t *testing.T, dir string, id backend.VolumeID) {
				commit(t, dir, id)
				if err := os.Truncate(filepath.Join(dir, string(id)+".img"), 4*mib); err != nil {
					t.Fatal(err)
				}
			},
			wantExists: true, wantSize: mib,
		},
		"crash during delete after removing metadata": {
			crash: func(t *testing.T, dir string, id backend.VolumeID) {
				commit(t, dir, id)
				if err := os.Remove(filepath.Join(dir, string(id)+".json")); err != nil {
					t.Fatal(err)
				}
			},
			wantExists: false,
		},
		"no crash": {
			crash:      func(t *testing.T, dir string, id backend.VolumeID) { commit(t, dir, id) },
			wantExists: true, wantSize: mib,
		},
	} {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			openPool(t, dir)
			id := backend.NewVolumeID("pvc-crash")
			volumes := filepath.Join(dir, "volumes")
			tc.crash(t, volumes, id)

			p := openPool(t, dir)
			vol, err := p.GetVolume(ctx, id)
			if tc.wantExists != (err == nil) {
				t.Fatalf("after restart GetVolume error = %v, want exists=%v", err, tc.wantExists)
			}
			if tc.wantExists && vol.CapacityBytes != tc.wantSize {
				t.Errorf("after restart the volume has %d bytes, want %d", vol.CapacityBytes, tc.wantSize)
			}
			if !tc.wantExists && (exists(filepath.Join(volumes, string(id)+".img")) || exists(filepath.Join(volumes, string(id)+".img.tmp"))) {
				t.Errorf("restart left the data of an uncommitted volume behind")
			}
			// A retried call completes what the crash interrupted.
			retried := create(t, p, "pvc-crash", mib)
			if retried.ID != id {
				t.Errorf("retried CreateVolume gave ID %s, want %s", retried.ID, id)
			}
		})
	}
}

// commit creates a committed 1 MiB volume with another pool instance, as a
// previous run of the driver would have.
func commit(t *testing.T, volumes string, id backend.VolumeID) {
	t.Helper()
	p := openPool(t, filepath.Dir(volumes))
	vol := create(t, p, "pvc-crash", mib)
	if vol.ID != id {
		t.Fatalf("volume ID %s, want %s", vol.ID, id)
	}
}

func touch(t *testing.T, dir, name string, size int64) {
	t.Helper()
	f, err := os.Create(filepath.Join(dir, name))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := f.Truncate(size); err != nil {
		t.Fatal(err)
	}
}

func TestCorruptMetadataStopsTheRestartInsteadOfDeletingData(t *testing.T) {
	dir := t.TempDir()
	p := openPool(t, dir)
	vol := create(t, p, "pvc-a", mib)
	meta := filepath.Join(dir, "volumes", string(vol.ID)+".json")
	if err := os.WriteFile(meta, []byte("{"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := pool.New(pool.Options{Dir: dir}); err == nil {
		t.Fatal("New accepted corrupt metadata")
	}
	if !exists(filepath.Join(dir, "volumes", string(vol.ID)+".img")) {
		t.Error("the volume's data was removed")
	}
}
