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
	"cmp"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"time"

	"github.com/go-logr/logr"
	"github.com/kubernetes-csi/csi-lib-utils/metrics"
	"golang.org/x/sync/errgroup"
	"golang.org/x/sys/unix"

	"github.com/plinth-dev/plinth/csi-driver/backend"
	"github.com/plinth-dev/plinth/csi-driver/backend/pool"
	"github.com/plinth-dev/plinth/csi-driver/driver"
	"github.com/plinth-dev/plinth/csi-driver/registration"
	"github.com/plinth-dev/plinth/csi-driver/topology"
)

// Config is what the node plugin needs to run.
type Config struct {
	// DriverName is the CSI driver name.
	DriverName string
	// Version is reported to the CO.
	Version string
	// NodeName is the Kubernetes node the plugin runs on.
	NodeName string
	// Endpoint is the CSI socket, "unix:///path".
	Endpoint string
	// KubeletEndpoint is the CSI socket path as the kubelet sees it; empty means the path of Endpoint.
	KubeletEndpoint string
	// RegistryDir is the kubelet's plugins_registry directory; empty disables registration.
	RegistryDir string
	// Backend stores the volumes; nil means the pool backend in PoolDir.
	Backend backend.Backend
	// PoolDir is the pool backend's directory.
	PoolDir string
	// OverProvisionRatio scales the pool's size into the space it may
	// promise to volumes and snapshots; zero means 1.
	OverProvisionRatio float64
	// PoolReserveBytes and PoolReservePercent keep space free on the pool's
	// filesystem, the larger of the two (see pool.Pool.Capacity), when that
	// filesystem is the kubelet directory's (the kubelet's nodefs) or the
	// host's root filesystem. A pool on a filesystem of its own needs no
	// reserve and gets none.
	PoolReserveBytes   int64
	PoolReservePercent float64
	// HostRoot is the host's root directory as the plugin sees it, such as
	// /host/proc/1/root; empty when the plugin runs on the host.
	HostRoot string
	// KubeletDir is the kubelet's root directory, outside which node calls
	// refuse paths; empty means driver.DefaultKubeletDir.
	KubeletDir string
	// AllowedMountOptions are mount options the driver refuses by default
	// (driver.RefusedMountOptions) that the admin allows.
	AllowedMountOptions []string
	// EphemeralMaxVolumeBytes and EphemeralMaxTotalBytes limit the inline
	// ephemeral volumes of the node, each and in sum; zero means no limit.
	EphemeralMaxVolumeBytes int64
	EphemeralMaxTotalBytes  int64
	// DefaultFSType formats volumes whose capability names no filesystem.
	DefaultFSType string
	// MaxVolumesPerNode is reported by NodeGetInfo; zero means no limit.
	MaxVolumesPerNode int64
	// MetricsAddress is the host:port of a plain-HTTP, unauthenticated
	// metrics endpoint; empty or "0" disables it, as for
	// controller-runtime's endpoints. Bind it to loopback, or serve the
	// Metrics recorder behind authentication instead (plinth-node serves
	// it at /metrics/csi of its authenticated metrics endpoint).
	MetricsAddress string
	// Metrics records the CSI operations; nil makes one for the driver.
	Metrics metrics.CSIMetricsManager
	// Topology adds the Node's zone and region to the node's topology;
	// optional. With it the registration socket appears once the topology
	// is known, and is created anew on each change, so that the kubelet
	// registers the driver again and learns the new topology.
	Topology *topology.Node
	// Logger is the base logger.
	Logger logr.Logger
	// Status, when set, reports what the plugin has done so far, for a
	// readiness probe.
	Status *Status
}

// Status reports the node plugin's progress; its zero value is ready to use
// and reports nothing done.
type Status struct {
	registration atomic.Pointer[registration.Server]
}

// Registered reports whether the kubelet accepted the plugin's last
// registration.
func (s *Status) Registered() bool {
	srv := s.registration.Load()
	return srv != nil && srv.Registered()
}

// Run serves the node plugin until ctx is done or a server fails.
func Run(ctx context.Context, cfg Config) error {
	d, err := newDriver(cfg)
	if err != nil {
		return err
	}
	l, err := driver.Listen(cfg.Endpoint)
	if err != nil {
		return err
	}
	recorder := cfg.Metrics
	if recorder == nil {
		recorder = metrics.NewCSIMetricsManagerForPlugin(cfg.DriverName)
	}
	srv := driver.NewGRPCServer(d, recorder)
	g, ctx := errgroup.WithContext(ctx)
	g.Go(func() error {
		if err := srv.Serve(l); err != nil {
			return fmt.Errorf("failed to serve CSI: %w", err)
		}
		return nil
	})
	g.Go(func() error {
		<-ctx.Done()
		srv.GracefulStop()
		return nil
	})
	if cfg.RegistryDir != "" {
		g.Go(func() error { return serveRegistration(ctx, cfg) })
	}
	if cfg.MetricsAddress != "" && cfg.MetricsAddress != "0" {
		g.Go(func() error { return serveMetrics(ctx, cfg.MetricsAddress, recorder) })
	}
	cfg.Logger.Info("Serving CSI", "endpoint", cfg.Endpoint, "node", cfg.NodeName, "pool", cfg.PoolDir)
	if err := g.Wait(); err != nil {
		return fmt.Errorf("failed to run the node plugin: %w", err)
	}
	return nil
}

func newDriver(cfg Config) (*driver.Driver, error) {
	b := cfg.Backend
	if b == nil {
		reserveBytes, reservePercent := cfg.PoolReserveBytes, cfg.PoolReservePercent
		if !sharesNodeFilesystem(cfg) {
			cfg.Logger.Info("The pool has a filesystem of its own: no reserve kept free on it", "pool", cfg.PoolDir)
			reserveBytes, reservePercent = 0, 0
		}
		p, err := pool.New(pool.Options{
			Dir:                cfg.PoolDir,
			OverProvisionRatio: cfg.OverProvisionRatio,
			ReserveBytes:       reserveBytes,
			ReservePercent:     reservePercent,
			Logger:             cfg.Logger.WithName("pool"),
		})
		if err != nil {
			return nil, fmt.Errorf("failed to open the pool: %w", err)
		}
		b = p
	}
	var source driver.TopologySource
	if cfg.Topology != nil {
		source = cfg.Topology.Source()
	}
	d, err := driver.New(driver.Options{
		Name:              cfg.DriverName,
		Version:           cfg.Version,
		NodeID:            cfg.NodeName,
		Backend:           b,
		Topology:          source,
		MaxVolumesPerNode: cfg.MaxVolumesPerNode,
		DefaultFSType:     cfg.DefaultFSType,
		Logger:            cfg.Logger.WithName("csi"),

		KubeletDir:              cfg.KubeletDir,
		AllowedMountOptions:     cfg.AllowedMountOptions,
		EphemeralMaxVolumeBytes: cfg.EphemeralMaxVolumeBytes,
		EphemeralMaxTotalBytes:  cfg.EphemeralMaxTotalBytes,
	})
	if err != nil {
		return nil, fmt.Errorf("failed to create the driver: %w", err)
	}
	return d, nil
}

// sharesNodeFilesystem reports whether the pool directory lies on the
// filesystem of the kubelet directory or of the host's root, which the pool
// must not fill. When in doubt (a path cannot be read) it answers yes.
func sharesNodeFilesystem(cfg Config) bool {
	pool, err := deviceOf(cfg.PoolDir)
	if err != nil {
		return true
	}
	others := []string{cmp.Or(cfg.KubeletDir, driver.DefaultKubeletDir), cmp.Or(cfg.HostRoot, "/")}
	for _, other := range others {
		dev, err := deviceOf(other)
		if err != nil || dev == pool {
			return true
		}
	}
	return false
}

// deviceOf returns the device of the filesystem holding path, or of its
// nearest existing ancestor.
func deviceOf(path string) (uint64, error) {
	for {
		var st unix.Stat_t
		err := unix.Stat(path, &st)
		if err == nil {
			return st.Dev, nil
		}
		parent := filepath.Dir(path)
		if !errors.Is(err, unix.ENOENT) || parent == path {
			return 0, fmt.Errorf("failed to stat %s: %w", path, err)
		}
		path = parent
	}
}

// serveRegistration serves the kubelet registration socket until ctx is
// done. With a topology it waits until the topology is known, then serves a
// new socket after each change: the kubelet's plugin watcher sees the socket
// removed and created again, unregisters the driver and registers it anew,
// calling GetInfo and NodeGetInfo again.
func serveRegistration(ctx context.Context, cfg Config) error {
	kubeletEndpoint := cmp.Or(cfg.KubeletEndpoint, cfg.Endpoint)
	log := cfg.Logger.WithName("registration")
	srv := registration.NewServer(cfg.DriverName, strings.TrimPrefix(kubeletEndpoint, "unix://"), log)
	sock := registration.SocketPath(cfg.RegistryDir, cfg.DriverName)
	if cfg.Status != nil {
		cfg.Status.registration.Store(srv)
	}
	if cfg.Topology == nil {
		return serveSocket(ctx, srv, sock, nil)
	}
	if err := cfg.Topology.Wait(ctx); err != nil {
		return nil // stopped before the topology was known
	}
	for {
		changed := cfg.Topology.Changed()
		log.Info("Serving the registration socket", "socket", sock, "topology", cfg.Topology.Segments())
		if err := serveSocket(ctx, srv, sock, changed); err != nil || ctx.Err() != nil {
			return err
		}
		log.Info("Node topology changed; registering with the kubelet again", "topology", cfg.Topology.Segments())
	}
}

// serveSocket serves the registration socket until ctx is done or stop is
// closed, and removes it on the way out, which unregisters the driver.
func serveSocket(ctx context.Context, srv *registration.Server, sock string, stop <-chan struct{}) error {
	l, err := driver.Listen(sock)
	if err != nil {
		return err
	}
	defer func() { _ = os.Remove(sock) }()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		select {
		case <-stop:
			cancel()
		case <-ctx.Done():
		}
	}()
	return srv.Serve(ctx, l)
}

func serveMetrics(ctx context.Context, addr string, recorder metrics.CSIMetricsManager) error {
	mux := http.NewServeMux()
	recorder.RegisterToServer(mux, "/metrics")
	srv := &http.Server{Addr: addr, Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("failed to listen for metrics on %s: %w", addr, err)
	}
	stop := context.AfterFunc(ctx, func() { _ = srv.Close() })
	defer stop()
	if err := srv.Serve(l); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("failed to serve metrics: %w", err)
	}
	return nil
}
