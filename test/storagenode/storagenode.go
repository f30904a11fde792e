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

package storagenode

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/plinth-dev/plinth/internal/wellknown"

	"github.com/container-storage-interface/spec/lib/go/csi"
	"github.com/go-logr/logr"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	storagev1 "k8s.io/api/storage/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"

	"github.com/plinth-dev/plinth/cmd/plinth-node/app"
	"github.com/plinth-dev/plinth/csi-driver/plugin"
	"github.com/plinth-dev/plinth/csi-driver/registration/registrationtest"
	"github.com/plinth-dev/plinth/internal/csiconn"
	"github.com/plinth-dev/plinth/test/controlplane"
	"github.com/plinth-dev/plinth/test/testpool"
)

// Namespace is where the test nodes publish their CSIStorageCapacity objects.
const Namespace = "plinth-system"

// CacheOwnObjectsEnv is the environment variable that, set to "false", runs
// every node without app.Config.CacheOwnObjectsOnly (plinth-node's
// --cache-own-objects-only, on by default): each node then caches every PV
// and snapshot content of the cluster.
const CacheOwnObjectsEnv = "PLINTH_NODE_CACHE_OWN_OBJECTS"

// Options configure a simulated storage node.
type Options struct {
	// PoolSize is the size of the node's pool filesystem; zero means 2 GiB.
	PoolSize int64
	// PoolFS is testpool.XFS (default, reflink) or testpool.Ext4.
	PoolFS string
	// Workers is the number of claims provisioned in parallel; zero means 4.
	Workers int
	// CapacityResync is the capacity publisher's resync; zero means 10s.
	CapacityResync time.Duration
	// DriverOnly runs Plinth's CSI driver (the node plugin, its kubelet
	// registration and its topology) without Plinth's node controllers, for
	// another controller layer, such as the upstream CSI sidecars, to drive
	// through Endpoint.
	DriverOnly bool
	// CrashAfter, when it returns true for a CSI method the node controllers
	// just called (e.g. "/csi.v1.Controller/CreateVolume"), makes the node
	// crash right after the driver did the work: plinth-node stops before
	// the controller sees the reply, as if the process had been killed.
	CrashAfter func(method string) bool
}

// Node is plinth-node running for one simulated node.
type Node struct {
	Name     string
	PoolDir  string
	Endpoint string
	// Conn talks to the node's CSI driver directly, as the kubelet would.
	Conn *csiconn.Conn

	t           testing.TB
	cp          *controlplane.ControlPlane
	opts        Options
	registryDir string
	log         logr.Logger
	cancel      context.CancelFunc
	done        chan error
	// kubelet is the simulated plugin watcher of the running plinth-node.
	kubelet *registrationtest.Kubelet
}

// InstallDriver creates what the chart installs cluster-wide for the driver:
// the plinth namespace and the CSIDriver object with capacity tracking on.
func InstallDriver(ctx context.Context, cp *controlplane.ControlPlane) error {
	if err := cp.CreateNamespace(ctx, Namespace); err != nil && !apierrors.IsAlreadyExists(err) {
		return err
	}
	csiDriver := &storagev1.CSIDriver{
		ObjectMeta: metav1.ObjectMeta{Name: wellknown.DriverName},
		Spec: storagev1.CSIDriverSpec{
			AttachRequired:       ptr.To(false),
			PodInfoOnMount:       ptr.To(true),
			StorageCapacity:      ptr.To(true),
			FSGroupPolicy:        ptr.To(storagev1.FileFSGroupPolicy),
			VolumeLifecycleModes: []storagev1.VolumeLifecycleMode{storagev1.VolumeLifecyclePersistent},
		},
	}
	if err := cp.Client.Create(ctx, csiDriver); err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("failed to create CSIDriver: %w", err)
	}
	return nil
}

// Start mounts a fresh pool for the node and starts plinth-node on it.
func Start(t testing.TB, cp *controlplane.ControlPlane, name string, opts Options) *Node {
	t.Helper()
	if opts.PoolSize == 0 {
		opts.PoolSize = 2 << 30
	}
	if opts.PoolFS == "" {
		opts.PoolFS = testpool.XFS
	}
	if opts.Workers == 0 {
		opts.Workers = 4
	}
	if opts.CapacityResync == 0 {
		opts.CapacityResync = 10 * time.Second
	}
	// Unix socket paths are limited to 108 bytes: keep them out of the
	// (long) per-test temporary directories.
	sockDir, err := os.MkdirTemp("", "plinth-csi-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(sockDir) })
	n := &Node{
		Name:     name,
		PoolDir:  filepath.Join(testpool.Mount(t, opts.PoolFS, opts.PoolSize), "pool"),
		Endpoint: "unix://" + filepath.Join(sockDir, "csi.sock"),
		t:        t, cp: cp, opts: opts,
		registryDir: filepath.Join(sockDir, "plugins_registry"),
	}
	t.Cleanup(n.Stop)
	n.Restart()
	return n
}

// Restart starts plinth-node (again) on the node's pool and waits until the
// driver is registered through its registration socket, which a simulated
// kubelet plugin watcher follows as long as plinth-node runs.
func (n *Node) Restart() {
	n.t.Helper()
	n.Stop()
	ctx, cancel := context.WithCancel(context.Background())
	n.log = n.logger()
	if err := n.startKubelet(ctx); err != nil {
		cancel()
		n.t.Fatal(err)
	}
	n.cancel, n.done = cancel, make(chan error, 1)
	cfg := app.Config{
		Plugin: plugin.Config{
			DriverName:    wellknown.DriverName,
			Version:       "test",
			NodeName:      n.Name,
			Endpoint:      n.Endpoint,
			RegistryDir:   n.registryDir,
			PoolDir:       n.PoolDir,
			DefaultFSType: "ext4",
			Logger:        n.log,
			// withVolume stages and publishes in directories of its own
			// under the temporary directory, as the kubelet does under its
			// root directory.
			KubeletDir: os.TempDir(),
		},
		RestConfig:     n.cp.Config,
		Namespace:      Namespace,
		MetricsAddress: "0",
		HealthAddress:  "0",
		Workers:        n.opts.Workers,
		CapacityResync: n.opts.CapacityResync,

		SkipControllerNameValidation: true,
		CacheOwnObjectsOnly:          os.Getenv(CacheOwnObjectsEnv) != "false",
		CSIDialOptions:               []grpc.DialOption{grpc.WithUnaryInterceptor(n.crashInterceptor(cancel))},
	}
	if n.opts.DriverOnly {
		go func() { n.done <- runDriver(ctx, cfg) }()
	} else {
		go func() { n.done <- app.Run(ctx, cfg) }()
	}
	conn, err := csiconn.Dial(n.Endpoint)
	if err != nil {
		n.t.Fatal(err)
	}
	n.Conn = conn
	if err := n.WaitForRegistration(ctx, 0); err != nil {
		n.t.Fatal(err)
	}
}

// crashInterceptor lets the driver do each call, then kills the node (stops
// its context) when Options.CrashAfter asks for it, and hides the reply.
func (n *Node) crashInterceptor(kill context.CancelFunc) grpc.UnaryClientInterceptor {
	return func(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
		err := invoker(ctx, method, req, reply, cc, opts...)
		if err == nil && n.opts.CrashAfter != nil && n.opts.CrashAfter(method) {
			kill()
			return status.Error(codes.Unavailable, "simulated crash of plinth-node")
		}
		return err
	}
}

// SetCrashAfter sets Options.CrashAfter for the next start of the node.
func (n *Node) SetCrashAfter(hook func(method string) bool) {
	n.t.Helper()
	n.Stop()
	n.opts.CrashAfter = hook
	n.Restart()
}

// Crashed reports whether the node stopped by itself (a simulated crash).
func (n *Node) Crashed() bool {
	select {
	case err := <-n.done:
		n.done <- err // keep it for Stop
		return true
	default:
		return false
	}
}

// logger returns a logger writing to the node's log file, which a failed
// test reports with the control plane's logs.
func (n *Node) logger() logr.Logger {
	path := filepath.Join(n.cp.Dir, "logs", "plinth-node-"+n.Name+".log")
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		n.t.Fatalf("failed to open log of %s: %v", n.Name, err)
	}
	n.t.Cleanup(func() { _ = f.Close() })
	n.cp.AddLog("plinth-node-"+n.Name, path)
	return zap.New(zap.WriteTo(f), zap.UseDevMode(true))
}

// Stop stops plinth-node abruptly (its context is cancelled, no cleanup
// runs) and waits until it has stopped. The pool stays.
func (n *Node) Stop() {
	n.t.Helper()
	if n.cancel == nil {
		return
	}
	n.cancel()
	select {
	case err := <-n.done:
		if err != nil && !errors.Is(err, context.Canceled) {
			n.t.Errorf("plinth-node on %s stopped with: %v", n.Name, err)
		}
	case <-time.After(time.Minute):
		n.t.Errorf("plinth-node on %s did not stop within a minute", n.Name)
	}
	n.kubelet.Wait()
	_ = n.Conn.Close()
	n.cancel = nil
}

// Volumes lists the IDs of the volumes in the node's pool.
func (n *Node) Volumes(ctx context.Context) ([]string, error) {
	var ids []string
	token := ""
	for {
		resp, err := n.Conn.Controller.ListVolumes(ctx, &csi.ListVolumesRequest{StartingToken: token})
		if err != nil {
			return nil, fmt.Errorf("failed to list volumes of %s: %w", n.Name, err)
		}
		for _, e := range resp.GetEntries() {
			ids = append(ids, e.GetVolume().GetVolumeId())
		}
		if token = resp.GetNextToken(); token == "" {
			return ids, nil
		}
	}
}

// VolumeSize returns the capacity the node's driver reports for a volume.
func (n *Node) VolumeSize(t testing.TB, id string) int64 {
	t.Helper()
	resp, err := n.Conn.Controller.ListVolumes(context.Background(), &csi.ListVolumesRequest{})
	if err != nil {
		t.Fatalf("failed to list volumes of %s: %v", n.Name, err)
	}
	for _, e := range resp.GetEntries() {
		if e.GetVolume().GetVolumeId() == id {
			return e.GetVolume().GetCapacityBytes()
		}
	}
	t.Fatalf("volume %s not found on %s", id, n.Name)
	return 0
}
