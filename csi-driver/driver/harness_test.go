package driver_test

import (
	"context"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/container-storage-interface/spec/lib/go/csi"
	"github.com/go-logr/logr"
	"github.com/go-logr/logr/testr"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/plinth-dev/plinth/csi-driver/backend/pool"
	"github.com/plinth-dev/plinth/csi-driver/driver"
	"github.com/plinth-dev/plinth/test/testpool"
)

const (
	testNode = "node-a"
	poolSize = 8 << 30
)

// harness is a driver serving a loop-mounted test pool on a unix socket.
type harness struct {
	dir      string
	poolDir  string
	endpoint string
	pool     *pool.Pool
	conn     *grpc.ClientConn
	ctrl     csi.ControllerClient
	node     csi.NodeClient
}

// startDriver mounts a pool filesystem of poolFS, serves the driver on it
// (formatting filesystem volumes as volumeFS by default) and undoes all of it
// when the test ends: unmounts, detaches loop devices, stops the server.
func startDriver(tb testing.TB, poolFS, volumeFS string) *harness {
	tb.Helper()
	mnt := testpool.Mount(tb, poolFS, poolSize)
	return serve(tb, filepath.Join(mnt, "pool"), volumeFS)
}

// serve serves the driver on a pool in poolDir; controller calls that do not
// attach volumes work without root on any directory.
func serve(tb testing.TB, poolDir, volumeFS string) *harness {
	tb.Helper()
	p, err := pool.New(pool.Options{Dir: poolDir, OverProvisionRatio: 20})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { detachAll(tb, p) })
	d, err := driver.New(driver.Options{
		NodeID:        testNode,
		Version:       "test",
		Backend:       p,
		DefaultFSType: volumeFS,
		Logger:        testLogger(tb),
		Topology: func(context.Context) (map[string]string, error) {
			return map[string]string{"topology.kubernetes.io/zone": "zone-1"}, nil
		},
	})
	if err != nil {
		tb.Fatal(err)
	}
	dir := tb.TempDir()
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
	return &harness{dir: dir, poolDir: poolDir, endpoint: endpoint, pool: p, conn: conn, ctrl: csi.NewControllerClient(conn), node: csi.NewNodeClient(conn)}
}

// testLogger logs through the test, but not in benchmarks, whose output
// would drown in it.
func testLogger(tb testing.TB) logr.Logger {
	if _, ok := tb.(*testing.B); ok {
		return logr.Discard()
	}
	return testr.NewWithInterface(tb, testr.Options{})
}

// detachAll unmounts whatever a failed test left mounted under the pool's
// volumes and detaches their loop devices, so the pool can be unmounted.
func detachAll(tb testing.TB, p *pool.Pool) {
	ctx := context.Background()
	vols, err := p.ListVolumes(ctx)
	if err != nil {
		tb.Error(err)
		return
	}
	for _, v := range vols {
		device, err := p.Device(ctx, v.ID)
		if err != nil {
			continue
		}
		// Lazy unmount of every mount of the device, then detach.
		out, _ := exec.Command("findmnt", "-n", "-o", "TARGET", "-S", device).Output()
		for _, target := range splitLines(string(out)) {
			_ = exec.Command("umount", "-l", target).Run()
		}
		if err := p.Detach(ctx, v.ID); err != nil {
			tb.Errorf("failed to detach volume %s: %v", v.ID, err)
		}
	}
}

func splitLines(s string) []string {
	var lines []string
	start := 0
	for i := range len(s) {
		if s[i] == '\n' {
			if i > start {
				lines = append(lines, s[start:i])
			}
			start = i + 1
		}
	}
	if start < len(s) {
		lines = append(lines, s[start:])
	}
	return lines
}
