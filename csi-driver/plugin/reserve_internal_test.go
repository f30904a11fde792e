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

package plugin

import (
	"path/filepath"
	"testing"

	"github.com/plinth-dev/plinth/test/testpool"
)

// TestReserveOnlyForAPoolOnTheNodesFilesystem: the pool keeps its reserve
// free when it shares a filesystem with the kubelet directory or the host's
// root (the chart's default pool on the root filesystem), not when it has a
// filesystem of its own.
func TestReserveOnlyForAPoolOnTheNodesFilesystem(t *testing.T) {
	dir := t.TempDir()
	own := testpool.Mount(t, testpool.Ext4, 64<<20)
	elsewhere := testpool.Mount(t, testpool.Ext4, 64<<20)
	for name, tc := range map[string]struct {
		cfg  Config
		want bool
	}{
		"beside the kubelet dir":          {Config{PoolDir: filepath.Join(dir, "pool"), KubeletDir: dir, HostRoot: elsewhere}, true},
		"on the host's root":              {Config{PoolDir: filepath.Join(dir, "pool"), KubeletDir: elsewhere, HostRoot: dir}, true},
		"on its own filesystem":           {Config{PoolDir: filepath.Join(own, "pool"), KubeletDir: dir, HostRoot: elsewhere}, false},
		"not created yet, own filesystem": {Config{PoolDir: filepath.Join(own, "a", "b"), KubeletDir: dir, HostRoot: elsewhere}, false},
	} {
		t.Run(name, func(t *testing.T) {
			if got := sharesNodeFilesystem(tc.cfg); got != tc.want {
				t.Errorf("sharesNodeFilesystem = %v, want %v", got, tc.want)
			}
		})
	}
}
