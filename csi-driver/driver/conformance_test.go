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

package driver_test

import (
	"testing"

	"github.com/plinth-dev/plinth/csi-driver/backend"
	"github.com/plinth-dev/plinth/csi-driver/backend/backendtest"
	"github.com/plinth-dev/plinth/test/testpool"
)

// TestPoolBackendConformance runs the conformance kit vendors run, the
// csi-sanity suite for filesystem and block volumes and the data checks,
// against the pool backend on an XFS pool (reflink) and an ext4 pool (copy
// fallback), each formatting volumes in the pool's filesystem.
func TestPoolBackendConformance(t *testing.T) {
	backendtest.Run(t, newPool(testpool.XFS), backendtest.Name("xfs-pool"), backendtest.FSType(testpool.XFS),
		backendtest.With(newPool(testpool.Ext4), backendtest.Name("ext4-pool"), backendtest.FSType(testpool.Ext4)))
}

// newPool makes empty pools on throw-away filesystems of fsType.
func newPool(fsType string) func(t *testing.T) backend.Backend {
	return func(t *testing.T) backend.Backend {
		return openPool(t, mountPool(t, fsType))
	}
}
