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
	"fmt"
	"time"

	snapshotv1 "github.com/kubernetes-csi/external-snapshotter/client/v8/apis/volumesnapshot/v1"
	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/config"
	"sigs.k8s.io/controller-runtime/pkg/healthz"

	networkv1alpha1 "github.com/plinth-dev/plinth/apis/network/v1alpha1"
	storagev1alpha1 "github.com/plinth-dev/plinth/apis/storage/v1alpha1"
	"github.com/plinth-dev/plinth/controllers/cluster"
	"github.com/plinth-dev/plinth/controllers/node/capacity"
	"github.com/plinth-dev/plinth/internal/metricsauth"
)

// DefaultLeaderElectionID names the Lease replicas compete for.
const DefaultLeaderElectionID = "plinth-controller.plinth.dev"

// Config is what plinth-controller needs to run.
type Config struct {
	// RestConfig reaches the API server.
	RestConfig *rest.Config
	// QPS and Burst limit the client's requests; zero means DefaultQPS and
	// DefaultBurst.
	QPS   float32
	Burst int
	// Namespace is Plinth's namespace, home of the leader election Lease.
	Namespace string
	// LeaderElection makes replicas elect one leader that runs the
	// controllers; turn it off only when a single replica runs.
	LeaderElection bool
	// LeaderElectionID names the Lease; empty means DefaultLeaderElectionID.
	LeaderElectionID string
	// LeaseDuration, RenewDeadline and RetryPeriod tune the election; zero
	// means controller-runtime's defaults (15s, 10s, 2s).
	LeaseDuration, RenewDeadline, RetryPeriod time.Duration
	// MetricsAddress and HealthAddress serve the metrics and the probes;
	// "0" disables them. The metrics endpoint is HTTPS with authentication
	// and authorization (see package metricsauth) unless InsecureMetrics;
	// MetricsCertDir may hold its tls.crt and tls.key.
	MetricsAddress, HealthAddress string
	MetricsCertDir                string
	InsecureMetrics               bool
	// Controllers are the controllers to set up, usually
	// DefaultControllers() with the flags applied.
	Controllers []cluster.Controller
	// SkipControllerNameValidation allows several managers in one process,
	// as tests that restart plinth-controller in-process do.
	SkipControllerNameValidation bool
}

// Leader election: the Lease, and the (core) Events it records about it,
// both in Plinth's namespace.
// +kubebuilder:rbac:groups=coordination.k8s.io,resources=leases,verbs=get;create;update,namespace=plinth-system
// +kubebuilder:rbac:groups="",resources=events,verbs=create;patch,namespace=plinth-system

// The metrics endpoint authenticates and authorizes its scrapers through
// the API server (package metricsauth).
// +kubebuilder:rbac:groups=authentication.k8s.io,resources=tokenreviews,verbs=create
// +kubebuilder:rbac:groups=authorization.k8s.io,resources=subjectaccessreviews,verbs=create

// Scheme returns the API types plinth-controller reads and writes.
func Scheme() (*runtime.Scheme, error) {
	s := runtime.NewScheme()
	adds := []func(*runtime.Scheme) error{
		clientgoscheme.AddToScheme, networkv1alpha1.AddToScheme, storagev1alpha1.AddToScheme, snapshotv1.AddToScheme,
	}
	for _, add := range adds {
		if err := add(s); err != nil {
			return nil, fmt.Errorf("failed to build scheme: %w", err)
		}
	}
	return s, nil
}

// Run sets up the enabled controllers and runs the manager until ctx ends.
// With leader election, the Lease is released when ctx ends, so that a
// successor takes over at once.
func Run(ctx context.Context, cfg Config) error {
	mgr, err := NewManager(cfg)
	if err != nil {
		return err
	}
	if err := cluster.SetupWithManager(mgr, cfg.Controllers); err != nil {
		return err
	}
	if err := mgr.Start(ctx); err != nil {
		return fmt.Errorf("failed to run the manager: %w", err)
	}
	return nil
}

// NewManager returns the manager with its scheme, leader election, metrics
// and probes, and no controllers yet.
func NewManager(cfg Config) (ctrl.Manager, error) {
	scheme, err := Scheme()
	if err != nil {
		return nil, err
	}
	mgr, err := ctrl.NewManager(withClientLimits(cfg.RestConfig, cfg.QPS, cfg.Burst), managerOptions(cfg, scheme))
	if err != nil {
		return nil, fmt.Errorf("failed to create the manager: %w", err)
	}
	if err := mgr.AddHealthzCheck("ping", healthz.Ping); err != nil {
		return nil, fmt.Errorf("failed to add the health check: %w", err)
	}
	if err := mgr.AddReadyzCheck("ping", healthz.Ping); err != nil {
		return nil, fmt.Errorf("failed to add the readiness check: %w", err)
	}
	return mgr, nil
}

// Default client limits of plinth-controller. Upstream's sidecars default to
// 5 requests/s, which caps a snapshot burst at about one snapshot a second;
// the API server's priority and fairness protects itself from a busy
// controller, so Plinth defaults to a rate that keeps up with bursts.
const (
	DefaultQPS   = 500
	DefaultBurst = 1000
)

// withClientLimits returns a copy of cfg with the client rate limits set
// (zero means the defaults).
func withClientLimits(cfg *rest.Config, qps float32, burst int) *rest.Config {
	cfg = rest.CopyConfig(cfg)
	cfg.QPS, cfg.Burst = cmp.Or(qps, DefaultQPS), cmp.Or(burst, DefaultBurst)
	return cfg
}

// managerOptions translates cfg into manager options.
func managerOptions(cfg Config, scheme *runtime.Scheme) ctrl.Options {
	opts := ctrl.Options{
		Scheme:                        scheme,
		Metrics:                       metricsauth.Options(cfg.MetricsAddress, cfg.MetricsCertDir, cfg.InsecureMetrics, nil),
		HealthProbeBindAddress:        metricsauth.BindAddress(cfg.HealthAddress),
		LeaderElection:                cfg.LeaderElection,
		LeaderElectionNamespace:       cfg.Namespace,
		LeaderElectionID:              cfg.LeaderElectionID,
		LeaderElectionReleaseOnCancel: true,
		Controller:                    config.Controller{SkipNameValidation: &cfg.SkipControllerNameValidation},
		Cache:                         capacity.CacheOptions(cfg.Namespace),
	}
	if opts.LeaderElectionID == "" {
		opts.LeaderElectionID = DefaultLeaderElectionID
	}
	opts.LeaseDuration = durationOrNil(cfg.LeaseDuration)
	opts.RenewDeadline = durationOrNil(cfg.RenewDeadline)
	opts.RetryPeriod = durationOrNil(cfg.RetryPeriod)
	return opts
}

// durationOrNil returns nil for zero, which selects the default.
func durationOrNil(d time.Duration) *time.Duration {
	if d == 0 {
		return nil
	}
	return &d
}
