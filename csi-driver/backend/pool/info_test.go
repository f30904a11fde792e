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
	"os"
	"path/filepath"
	"testing"

	"github.com/go-logr/logr/testr"

	"github.com/plinth-dev/plinth/csi-driver/backend/pool"
	"github.com/plinth-dev/plinth/test/testpool"
)

func TestInfoNamesTheFilesystemAndWhetherItReflinks(t *testing.T) {
	for _, tc := range []struct {
		poolFS      string
		wantFS      string
		wantReflink bool
	}{
		{testpool.XFS, pool.FilesystemXFS, true},
		{testpool.Ext4, pool.FilesystemExt4, false},
	} {
		t.Run(tc.poolFS, func(t *testing.T) {
			dir := filepath.Join(testpool.Mount(t, tc.poolFS, 512<<20), "pool")
			p, err := pool.New(pool.Options{Dir: dir, Logger: testr.New(t)})
			if err != nil {
				t.Fatal(err)
			}
			info, err := p.Info()
			if err != nil {
				t.Fatal(err)
			}
			if info.Filesystem != tc.wantFS || info.Reflink != tc.wantReflink {
				t.Errorf("Info() = %+v, want filesystem %s and reflink %v", info, tc.wantFS, tc.wantReflink)
			}
			if info.CapacityBytes <= 0 || info.UsedBytes <= 0 || info.UsedBytes > info.CapacityBytes {
				t.Errorf("Info() = %+v, want 0 < used <= capacity", info)
			}
			if read, err := pool.ReadInfo(dir); err != nil || read != info {
				t.Errorf("ReadInfo() = %+v, %v; want what the open pool reports, %+v", read, err, info)
			}
			assertOnlyPoolLayout(t, dir)
		})
	}
}

// assertOnlyPoolLayout fails when the reflink probe left a file behind.
func assertOnlyPoolLayout(t *testing.T, dir string) {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if e.Name() != "volumes" && e.Name() != "snapshots" {
			t.Errorf("pool directory holds %s after Info", e.Name())
		}
	}
}

func TestReadInfoOfAMissingDirectoryFails(t *testing.T) {
	if _, err := pool.ReadInfo(filepath.Join(t.TempDir(), "missing")); err == nil {
		t.Fatal("ReadInfo of a missing directory succeeded")
	}
}
