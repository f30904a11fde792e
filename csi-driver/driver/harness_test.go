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
	"path/filepath"
	"testing"

	"github.com/plinth-dev/plinth/csi-driver/backend/pool"
	"github.com/plinth-dev/plinth/csi-driver/driver"
	"github.com/plinth-dev/plinth/csi-driver/internal/drivertest"
	"github.com/plinth-dev/plinth/test/testpool"
)

const poolSize = 8 << 30

// harness is the driver serving a pool on a unix socket.
type harness struct {
	*drivertest.Driver
	poolDir string
	pool    *pool.Pool
}

// startDriver mounts a pool filesystem of poolFS, serves the driver on it
// (formatting filesystem volumes as volumeFS by default) and undoes all of it
// when the test ends: unmounts, detaches loop devices, stops the server.
func startDriver(tb testing.TB, poolFS, volumeFS string) *harness {
	tb.Helper()
	return serve(tb, mountPool(tb, poolFS), volumeFS)
}

// serve serves the driver on a pool in poolDir; controller calls that do not
// attach volumes work without root on any directory.
func serve(tb testing.TB, poolDir, volumeFS string) *harness {
	tb.Helper()
	return serveWith(tb, poolDir, driver.Options{DefaultFSType: volumeFS})
}

// serveWith serves the driver made with opts on a pool in poolDir.
func serveWith(tb testing.TB, poolDir string, opts driver.Options) *harness {
	tb.Helper()
	p := openPool(tb, poolDir)
	opts.Backend = p
	return &harness{Driver: drivertest.ServeWith(tb, opts), poolDir: poolDir, pool: p}
}

// mountPool mounts a throw-away pool filesystem of fsType and returns the
// pool directory in it.
func mountPool(tb testing.TB, fsType string) string {
	tb.Helper()
	return filepath.Join(testpool.Mount(tb, fsType, poolSize), "pool")
}

func openPool(tb testing.TB, dir string) *pool.Pool {
	tb.Helper()
	p, err := pool.New(pool.Options{Dir: dir, OverProvisionRatio: 20})
	if err != nil {
		tb.Fatal(err)
	}
	return p
}
