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

package drivertest

import (
	"context"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/container-storage-interface/spec/lib/go/csi"
	"github.com/go-logr/logr"
	"github.com/go-logr/logr/testr"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/plinth-dev/plinth/csi-driver/backend"
	"github.com/plinth-dev/plinth/csi-driver/driver"
)

// NodeID is the node the served driver reports itself on.
const NodeID = "node-a"

// Driver is the real driver serving a backend on a unix socket, with
// clients connected to it.
type Driver struct {
	// Dir is a directory for staging and target paths, removed when the
	// test ends; the driver's kubelet directory unless the test names another.
	Dir string
	// Endpoint is the driver's unix:// address.
	Endpoint string
	// Conn is the client connection to Endpoint.
	Conn *grpc.ClientConn
	// Controller and Node are the CSI clients on Conn.
	Controller csi.ControllerClient
	Node       csi.NodeClient
}

// Serve serves the driver on b, formatting filesystem volumes whose
// capability names no filesystem as fsType, until the test ends. It then
// stops the server, unmounts what the test left mounted of b's volumes and
// detaches them. Controller calls need no privileges; node calls need root.
func Serve(tb testing.TB, b backend.Backend, fsType string) *Driver {
	tb.Helper()
	return ServeWith(tb, driver.Options{Backend: b, DefaultFSType: fsType})
}

// ServeWith serves a driver made with opts, as Serve does: NodeID,
// Version, Logger and Topology are set to the test's, and KubeletDir to Dir
// unless opts names one.
func ServeWith(tb testing.TB, opts driver.Options) *Driver {
	tb.Helper()
	if opts.Backend != nil {
		tb.Cleanup(func() { detachAll(tb, opts.Backend) })
	}
	dir := tb.TempDir()
	opts.NodeID, opts.Version, opts.Logger = NodeID, "test", testLogger(tb)
	opts.Topology = func(context.Context) (map[string]string, error) {
		return map[string]string{"topology.kubernetes.io/zone": "zone-1"}, nil
	}
	if opts.KubeletDir == "" {
		opts.KubeletDir = dir
	}
	d, err := driver.New(opts)
	if err != nil {
		tb.Fatal(err)
	}
	endpoint := "unix://" + filepath.Join(dir, "csi.sock")
	l, err := driver.Listen(endpoint)
	if err != nil {
		tb.Fatal(err)
	}
	srv := driver.NewGRPCServer(d, nil)
	go func() { _ = srv.Serve(l) }()
	tb.Cleanup(srv.Stop)
	conn, err := grpc.NewClient(endpoint, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = conn.Close() })
	return &Driver{Dir: dir, Endpoint: endpoint, Conn: conn, Controller: csi.NewControllerClient(conn), Node: csi.NewNodeClient(conn)}
}

// testLogger logs through the test, but not in benchmarks, whose output
// would drown in it.
func testLogger(tb testing.TB) logr.Logger {
	if _, ok := tb.(*testing.B); ok {
		return logr.Discard()
	}
	return testr.NewWithInterface(tb, testr.Options{})
}

// detachAll unmounts whatever a failed test left mounted of b's volumes and
// detaches them, so that the storage under b can be released.
func detachAll(tb testing.TB, b backend.Backend) {
	ctx := context.Background()
	vols, err := b.ListVolumes(ctx)
	if err != nil {
		tb.Error(err)
		return
	}
	for _, v := range vols {
		device, err := b.Device(ctx, v.ID)
		if err != nil {
			continue
		}
		// Lazy unmount of every mount of the device, then detach.
		out, _ := exec.Command("findmnt", "-n", "-o", "TARGET", "-S", device).Output()
		for _, target := range strings.FieldsFunc(string(out), func(r rune) bool { return r == '\n' }) {
			_ = exec.Command("umount", "-l", target).Run()
		}
		if err := b.Detach(ctx, v.ID); err != nil {
			tb.Errorf("failed to detach volume %s: %v", v.ID, err)
		}
	}
}
