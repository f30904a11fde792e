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
	"os"
	"path/filepath"
	"testing"

	"github.com/go-logr/logr"

	"github.com/plinth-dev/plinth/csi-driver/backend"
	"github.com/plinth-dev/plinth/test/testpool"
)

// BenchmarkCreateSnapshot measures CreateSnapshot of a volume filled with
// data, on an XFS pool (reflink) and an ext4 pool (sparse copy), for 1 GiB
// and 10 GiB volumes. Setup fills each volume once; each iteration cuts a
// snapshot (timed) and deletes it (not timed).
func BenchmarkCreateSnapshot(b *testing.B) {
	for _, tc := range []struct{ poolFS, method string }{
		{testpool.XFS, "reflink"},
		{testpool.Ext4, "copy"},
	} {
		mnt := testpool.Mount(b, tc.poolFS, 24<<30)
		p, err := New(Options{Dir: filepath.Join(mnt, "pool"), Logger: logr.Discard()})
		if err != nil {
			b.Fatal(err)
		}
		for _, size := range []int64{1 << 30, 10 << 30} {
			vol := filledVolume(b, p, size)
			b.Run(fmt.Sprintf("%s-%s/%dGiB", tc.poolFS, tc.method, size>>30), func(b *testing.B) {
				benchmarkSnapshots(b, p, vol)
			})
			if err := p.DeleteVolume(context.Background(), vol); err != nil {
				b.Fatal(err)
			}
		}
	}
}

func benchmarkSnapshots(b *testing.B, p *Pool, vol backend.VolumeID) {
	ctx := context.Background()
	for i := range b.N {
		id := backend.NewSnapshotID(fmt.Sprintf("%s-%d", vol, i))
		if _, err := p.CreateSnapshot(ctx, backend.SnapshotRequest{ID: id, SourceVolume: vol}); err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		if err := p.DeleteSnapshot(ctx, id); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
	}
}

// filledVolume creates a volume of size bytes whose every block holds data.
func filledVolume(b *testing.B, p *Pool, size int64) backend.VolumeID {
	b.Helper()
	id := backend.NewVolumeID(fmt.Sprintf("bench-%d", size))
	if _, err := p.CreateVolume(context.Background(), backend.VolumeRequest{ID: id, CapacityBytes: size}); err != nil {
		b.Fatal(err)
	}
	data, _, err := p.volumeFiles(id)
	if err != nil {
		b.Fatal(err)
	}
	f, err := os.OpenFile(data, os.O_WRONLY, 0)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	buf := make([]byte, 4<<20)
	for off := int64(0); off < size; off += int64(len(buf)) {
		for i := range buf {
			buf[i] = byte(off>>20) ^ byte(i)
		}
		if _, err := f.WriteAt(buf, off); err != nil {
			b.Fatal(err)
		}
	}
	if err := f.Sync(); err != nil {
		b.Fatal(err)
	}
	return id
}
