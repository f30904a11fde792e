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
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/plinth-dev/plinth/test/testpool"
)

const (
	fileSize  = 256 << 20
	chunkSize = 1 << 20
)

// chunkOffsets are where writeSparse puts data; everything else is a hole.
var chunkOffsets = []int64{0, 100 << 20, fileSize - chunkSize}

// writeSparse creates a file of fileSize with a distinct 1 MiB pattern at
// each of chunkOffsets and holes elsewhere.
func writeSparse(t *testing.T, path string) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := f.Truncate(fileSize); err != nil {
		t.Fatal(err)
	}
	for i, off := range chunkOffsets {
		if _, err := f.WriteAt(bytes.Repeat([]byte{byte(i + 1)}, chunkSize), off); err != nil {
			t.Fatal(err)
		}
	}
}

// allocated returns the bytes a file occupies on disk.
func allocated(t *testing.T, path string) int64 {
	t.Helper()
	var st unix.Stat_t
	if err := unix.Stat(path, &st); err != nil {
		t.Fatal(err)
	}
	return st.Blocks * 512
}

func assertSameContent(t *testing.T, a, b string) {
	t.Helper()
	da, err := os.ReadFile(a)
	if err != nil {
		t.Fatal(err)
	}
	db, err := os.ReadFile(b)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(da, db) {
		t.Fatalf("%s and %s differ", a, b)
	}
}

func TestCloneFileReflinksWhenThePoolSupportsItAndCopiesOtherwise(t *testing.T) {
	for _, tc := range []struct {
		poolFS        string
		wantReflinked bool
	}{
		{testpool.XFS, true},
		{testpool.Ext4, false},
	} {
		t.Run(tc.poolFS, func(t *testing.T) {
			dir := testpool.Mount(t, tc.poolFS, 1<<30)
			src, dst := filepath.Join(dir, "src"), filepath.Join(dir, "dst")
			writeSparse(t, src)
			reflinked, err := cloneFile(context.Background(), src, dst)
			if err != nil {
				t.Fatal(err)
			}
			if reflinked != tc.wantReflinked {
				t.Errorf("reflinked = %v, want %v", reflinked, tc.wantReflinked)
			}
			assertSameContent(t, src, dst)
			if got, limit := allocated(t, dst), int64(len(chunkOffsets)*chunkSize*2); got > limit {
				t.Errorf("clone occupies %d bytes, want at most %d: holes were filled", got, limit)
			}
		})
	}
}

func TestSparseCopyCopiesDataAndKeepsHoles(t *testing.T) {
	dir := t.TempDir()
	src, dst := filepath.Join(dir, "src"), filepath.Join(dir, "dst")
	writeSparse(t, src)
	in, err := os.Open(src)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	out, err := os.Create(dst)
	if err != nil {
		t.Fatal(err)
	}
	if err := sparseCopy(context.Background(), in, out); err != nil {
		t.Fatal(err)
	}
	if err := out.Close(); err != nil {
		t.Fatal(err)
	}
	assertSameContent(t, src, dst)
	if got, limit := allocated(t, dst), int64(len(chunkOffsets)*chunkSize*2); got > limit {
		t.Errorf("copy occupies %d bytes, want at most %d: holes were filled", got, limit)
	}
}

func TestSparseCopyStopsWhenTheContextIsCancelled(t *testing.T) {
	dir := t.TempDir()
	src := filepath.Join(dir, "src")
	writeSparse(t, src)
	in, err := os.Open(src)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	out, err := os.Create(filepath.Join(dir, "dst"))
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := sparseCopy(ctx, in, out); err == nil {
		t.Fatal("sparseCopy with a cancelled context succeeded")
	}
}
