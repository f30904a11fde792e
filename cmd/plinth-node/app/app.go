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

package app

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net/http"
	"path/filepath"
	"strings"
	"time"

	"github.com/container-storage-interface/spec/lib/go/csi"
	csimetrics "github.com/kubernetes-csi/csi-lib-utils/metrics"
	snapshotv1 "github.com/kubernetes-csi/external-snapshotter/client/v8/apis/volumesnapshot/v1"
	"golang.org/x/sync/errgroup"
	"google.golang.org/grpc"
	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/config"
	"sigs.k8s.io/controller-runtime/pkg/healthz"

	networkv1alpha1 "github.com/plinth-dev/plinth/apis/network/v1alpha1"
	storagev1alpha1 "github.com/plinth-dev/plinth/apis/storage/v1alpha1"
	"github.com/plinth-dev/plinth/cni-plugin/agent"
	"github.com/plinth-dev/plinth/controllers/node"
	"github.com/plinth-dev/plinth/controllers/node/nodedeps"
	"github.com/plinth-dev/plinth/controllers/node/orphans"
	"github.com/plinth-dev/plinth/csi-driver/plugin"
	"github.com/plinth-dev/plinth/internal/csiconn"
	"github.com/plinth-dev/plinth/internal/metricsauth"
)

// Config is what plinth-node needs to run.
type Config struct {
	// Plugin configures the CSI node plugin. Run sets its Topology to a
	// watch of the Node, which the controllers share.
	Plugin plugin.Config
	// RestConfig reaches the API server.
	RestConfig *rest.Config
	// QPS and Burst limit the client's requests; zero means DefaultQPS and
	// DefaultBurst.
	QPS   float32
	Burst int
	// Namespace is plinth's namespace, home of the CSIStorageCapacity objects.
	Namespace string
	// MetricsAddress and HealthAddress serve the manager's metrics and
	// probes; "0" disables them. The metrics endpoint also serves the CSI
	// driver's operation metrics at /metrics/csi, and is HTTPS with
	// authentication and authorization (see package metricsauth) unless
	// InsecureMetrics; MetricsCertDir may hold its tls.crt and tls.key.
	MetricsAddress, HealthAddress string
	MetricsCertDir                string
	InsecureMetrics               bool
	// Workers is the number of claims provisioned in parallel.
	Workers int
	// CapacityResync is the capacity publisher's resync period.
	CapacityResync time.Duration
	// OrphanInterval and OrphanGrace are the orphan sweep's period and the
	// time a volume must stay unreferenced to count as an orphan; zero
	// means the defaults of package controllers/node/orphans.
	OrphanInterval, OrphanGrace time.Duration
	// Network configures the pod network agent; nil leaves pod networking
	// to another CNI.
	Network *agent.Config
	// NoNetworkPolicy turns the agent's enforcement of NetworkPolicies
	// off (with Network set): the rules of an earlier run are removed.
	NoNetworkPolicy bool
	// CSIDialOptions are added to the controllers' connection to the
	// driver, such as client interceptors for tracing or fault injection.
	CSIDialOptions []grpc.DialOption
	// SkipControllerNameValidation allows several plinth-node instances in
	// one process, as tests that simulate many nodes run them.
	SkipControllerNameValidation bool
	// DaemonSet is plinth-node's DaemonSet, watched for the chart's
	// uninstall request; empty disables the uninstall path.
	DaemonSet string
	// PodName is this plinth-node pod, which reports the node's cleanup.
	PodName string
	// HostMountNS is the host's mount namespace (its /proc/1/ns/mnt), where
	// the uninstall releases the pool directory.
	HostMountNS string
	// CacheOwnObjectsOnly caches and watches only the PVs and snapshot
	// contents labelled with this node (wellknown.LabelNode) instead of
	// the cluster's, and labels the node's older ones at start. It is
	// experimental and off by default: Plinth labels the PVs and contents
	// it creates, but a pre-provisioned content (a snapshot import) or a
	// hand-made PV carries no label until a node claims it, and a node
	// that cannot see it never does.
	CacheOwnObjectsOnly bool
}

// Default client limits of plinth-node: enough for a burst of claims and
// snapshots on one node; the API server's priority and fairness protects it.
const (
	DefaultQPS   = 100
	DefaultBurst = 200
)

// Scheme returns the API types plinth-node reads and writes.
func Scheme() (*runtime.Scheme, error) {
	s := runtime.NewScheme()
	for _, add := range []func(*runtime.Scheme) error{clientgoscheme.AddToScheme, snapshotv1.AddToScheme, storagev1alpha1.AddToScheme, networkv1alpha1.AddToScheme} {
		if err := add(s); err != nil {
			return nil, fmt.Errorf("failed to build scheme: %w", err)
		}
	}
	return s, nil
}

// Run runs the node plugin and the node controllers until ctx is done or one
// of them fails. When the chart's uninstall hook asks (an annotation on the
// DaemonSet), it stops them, removes what Plinth installed on the node, and
// stays idle until stopped, also across restarts of its container.
func Run(ctx context.Context, cfg Config) error {
	if cfg.DaemonSet == "" {
		return runNode(ctx, cfg)
	}
	u, err := newUninstaller(cfg)
	if err != nil {
		return err
	}
	if err := u.watch(ctx); err != nil {
		return err
	}
	if !u.isRequested() {
		active, cancel := context.WithCancelCause(ctx)
		defer cancel(nil)
		go func() {
			select {
			case <-u.requested:
				cancel(errUninstall)
			case <-active.Done():
			}
		}()
		err := runNode(active, cfg)
		if !errors.Is(context.Cause(active), errUninstall) {
			return err
		}
	}
	return u.run(ctx)
}

// runNode runs the node plugin and the node controllers.
func runNode(ctx context.Context, cfg Config) error {
	if cfg.Plugin.Metrics == nil {
		cfg.Plugin.Metrics = csimetrics.NewCSIMetricsManagerForPlugin(cfg.Plugin.DriverName)
	}
	mgr, err := newManager(cfg)
	if err != nil {
		return err
	}
	if cfg.Plugin.Status == nil {
		cfg.Plugin.Status = &plugin.Status{}
	}
	g, ctx := errgroup.WithContext(ctx)
	if cfg.Plugin.Topology, err = watchTopology(ctx, mgr, cfg.Plugin); err != nil {
		return err
	}
	g.Go(func() error { return plugin.Run(ctx, cfg.Plugin) })
	g.Go(func() error { return runControllers(ctx, mgr, cfg) })
	if err := g.Wait(); err != nil {
		return fmt.Errorf("plinth-node stopped: %w", err)
	}
	return nil
}

// runControllers waits for the plugin's socket, then runs the manager.
func runControllers(ctx context.Context, mgr ctrl.Manager, cfg Config) error {
	conn, err := csiconn.Dial(cfg.Plugin.Endpoint, cfg.CSIDialOptions...)
	if err != nil {
		return err
	}
	defer func() { _ = conn.Close() }()
	if err := conn.WaitReady(ctx, 100*time.Millisecond); err != nil {
		return err
	}
	if err := setupControllers(ctx, mgr, cfg, conn); err != nil {
		return err
	}
	if err := mgr.Start(ctx); err != nil {
		return fmt.Errorf("failed to run the node controllers: %w", err)
	}
	return nil
}

func newManager(cfg Config) (ctrl.Manager, error) {
	scheme, err := Scheme()
	if err != nil {
		return nil, err
	}
	restConfig := rest.CopyConfig(cfg.RestConfig)
	restConfig.QPS, restConfig.Burst = cmp.Or(cfg.QPS, DefaultQPS), cmp.Or(cfg.Burst, DefaultBurst)
	snapshots := false
	if cfg.CacheOwnObjectsOnly {
		if snapshots, err = snapshotAPIServed(restConfig); err != nil {
			return nil, err
		}
	}
	cacheOpts, err := cacheOptions(cfg, snapshots)
	if err != nil {
		return nil, err
	}
	mgr, err := ctrl.NewManager(restConfig, ctrl.Options{
		Scheme:                 scheme,
		Logger:                 cfg.Plugin.Logger,
		Metrics:                metricsauth.Options(cfg.MetricsAddress, cfg.MetricsCertDir, cfg.InsecureMetrics, csiMetricsHandler(cfg.Plugin.Metrics)),
		HealthProbeBindAddress: metricsauth.BindAddress(cfg.HealthAddress),
		// Every node has its own controllers; none is elected.
		LeaderElection: false,
		Controller:     config.Controller{SkipNameValidation: &cfg.SkipControllerNameValidation},
		Cache:          cacheOpts,
	})
	if err != nil {
		return nil, fmt.Errorf("failed to create the manager: %w", err)
	}
	if cfg.CacheOwnObjectsOnly {
		if err := mgr.Add(labelOwnObjects(mgr, cfg.Plugin.NodeName, snapshots)); err != nil {
			return nil, fmt.Errorf("failed to add the labelling of the node's objects: %w", err)
		}
	}
	if err := mgr.AddHealthzCheck("ping", healthz.Ping); err != nil {
		return nil, fmt.Errorf("failed to add health check: %w", err)
	}
	return mgr, nil
}

// csiMetricsPath is where the metrics endpoint serves the CSI driver's
// operation metrics.
const csiMetricsPath = "/metrics/csi"

// csiMetricsHandler serves the CSI driver's operation metrics at
// csiMetricsPath, behind the metrics endpoint's authentication.
func csiMetricsHandler(recorder csimetrics.CSIMetricsManager) map[string]http.Handler {
	if recorder == nil {
		return nil
	}
	mux := http.NewServeMux()
	recorder.RegisterToServer(mux, csiMetricsPath)
	return map[string]http.Handler{csiMetricsPath: mux}
}

// The metrics endpoint authenticates and authorizes its scrapers through
// the API server (package metricsauth).
// +kubebuilder:rbac:groups=authentication.k8s.io,resources=tokenreviews,verbs=create
// +kubebuilder:rbac:groups=authorization.k8s.io,resources=subjectaccessreviews,verbs=create

// setupControllers registers the node's storage controllers (package
// controllers/node), the pod network agent and the topology notice; the
// node's topology is the one Run watches for the plugin.
func setupControllers(ctx context.Context, mgr ctrl.Manager, cfg Config, conn *csiconn.Conn) error {
	recorder := mgr.GetEventRecorder("plinth-node")
	deps := nodedeps.Deps{
		Client: mgr.GetClient(), Controller: conn.Controller, DriverName: cfg.Plugin.DriverName,
		NodeName: cfg.Plugin.NodeName, Recorder: recorder,
	}
	opts := node.Options{
		Workers: cfg.Workers, Namespace: cfg.Namespace, Topology: cfg.Plugin.Topology,
		Resync: cfg.CapacityResync, Pool: poolOf(cfg.Plugin, conn.Identity),
		Orphans: &node.Orphans{
			Node: conn.Node, Reader: mgr.GetAPIReader(), KubeletDir: cmp.Or(cfg.Plugin.KubeletDir, "/var/lib/kubelet"),
			Interval: cfg.OrphanInterval, Grace: cfg.OrphanGrace,
		},
		LedgerPath: filepath.Join(pluginDir(cfg.Plugin), orphans.LedgerFile),
	}
	if err := node.SetupWithManager(mgr, deps, opts); err != nil {
		return err
	}
	if err := mgr.AddReadyzCheck("csi", csiReady(cfg.Plugin, conn.Identity)); err != nil {
		return fmt.Errorf("failed to add the CSI readiness check: %w", err)
	}
	if cfg.Network != nil {
		if err := setupNetwork(ctx, mgr, *cfg.Network, !cfg.NoNetworkPolicy); err != nil {
			return err
		}
	}
	return setupTopologyNotice(mgr, cfg.Plugin, recorder)
}

// pluginDir is the driver's directory in the kubelet's plugin directory,
// the one its CSI socket is in.
func pluginDir(cfg plugin.Config) string {
	return filepath.Dir(strings.TrimPrefix(cfg.Endpoint, "unix://"))
}

// poolOf describes the node's pool for its StoragePool; a node given another
// backend has no pool to describe.
func poolOf(cfg plugin.Config, identity csi.IdentityClient) *node.Pool {
	if cfg.Backend != nil {
		return nil
	}
	return &node.Pool{Identity: identity, Dir: cfg.PoolDir, OverProvisionRatio: cfg.OverProvisionRatio}
}
