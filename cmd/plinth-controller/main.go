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

// Command plinth-controller is Plinth's cluster-wide controller manager: it
// runs, on the elected leader, the controllers listed in package app's
// registry (the node pod-CIDR allocator, and the snapshot controllers).
//
// The same binary (and image) serves the Helm chart's helper commands:
//
//	plinth-controller selftest ...         the chart's `helm test` (package selftest)
//	plinth-controller label-namespace ...  the chart's Pod Security hook (package nslabel)
//	plinth-controller uninstall ...        the chart's pre-delete hook (package uninstall)
//	plinth-controller version              print the version
//	plinth-controller pause                wait for a signal (the self test's consumer pod)
package main

import (
	"flag"
	"os"

	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"

	"github.com/plinth-dev/plinth/cmd/plinth-controller/app"
	"github.com/plinth-dev/plinth/internal/version"
)

func main() {
	if len(os.Args) > 1 {
		if cmd, ok := subcommands[os.Args[1]]; ok {
			os.Exit(cmd(os.Args[2:]))
		}
	}
	cfg := app.Config{Controllers: app.DefaultControllers()}
	flag.StringVar(&cfg.Namespace, "namespace", envOr("POD_NAMESPACE", "plinth-system"), "Plinth's namespace, home of the leader election Lease (default $POD_NAMESPACE).")
	flag.BoolVar(&cfg.LeaderElection, "leader-elect", true, "Elect one leader among the replicas to run the controllers.")
	flag.StringVar(&cfg.LeaderElectionID, "leader-election-id", app.DefaultLeaderElectionID, "Name of the leader election Lease.")
	flag.DurationVar(&cfg.LeaseDuration, "leader-election-lease-duration", 0, "How long a non-leader waits before taking over an unrenewed Lease (0: 15s).")
	flag.StringVar(&cfg.MetricsAddress, "metrics-bind-address", ":8080", "Address of the Prometheus metrics endpoint; 0 disables it.")
	metricsSecure := flag.Bool("metrics-secure", true,
		"Serve the metrics over HTTPS to scrapers the API server authenticates and authorizes (get on /metrics); false serves plain HTTP to anyone.")
	flag.StringVar(&cfg.MetricsCertDir, "metrics-cert-dir", "", "Directory with tls.crt and tls.key of the metrics endpoint; empty uses a self-signed certificate.")
	flag.StringVar(&cfg.HealthAddress, "health-probe-bind-address", ":8081",
		"Address of the unauthenticated /healthz and /readyz probes, such as $(POD_IP):8081 (an IPv6 host needs no brackets); 0 disables them.")
	qps := flag.Float64("kube-api-qps", app.DefaultQPS, "Requests per second to the API server.")
	flag.IntVar(&cfg.Burst, "kube-api-burst", app.DefaultBurst, "Burst of requests to the API server.")
	app.BindControllerFlags(flag.CommandLine, cfg.Controllers)
	logOpts := zap.Options{}
	logOpts.BindFlags(flag.CommandLine)
	flag.Parse()
	cfg.QPS = float32(*qps)
	cfg.InsecureMetrics = !*metricsSecure

	ctrl.SetLogger(zap.New(zap.UseFlagOptions(&logOpts)))
	log := ctrl.Log.WithName("plinth-controller").WithValues("version", version.Version)
	restConfig, err := ctrl.GetConfig()
	if err != nil {
		log.Error(err, "failed to load the Kubernetes client configuration")
		os.Exit(1)
	}
	cfg.RestConfig = restConfig
	ctx := ctrl.LoggerInto(ctrl.SetupSignalHandler(), log)
	if err := app.Run(ctx, cfg); err != nil {
		log.Error(err, "plinth-controller failed")
		os.Exit(1)
	}
}

// envOr returns the environment variable name, or def when it is empty.
func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}
