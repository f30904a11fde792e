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

// Command plinth-node is Plinth's per-node agent: it serves the CSI driver
// for the node's local pool, registers it with the kubelet, runs the
// node-scoped storage controllers and the pod network agent.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/plinth-dev/plinth/internal/version"
	"github.com/plinth-dev/plinth/internal/wellknown"

	"sigs.k8s.io/controller-runtime/pkg/client/config"
	logf "sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"

	"github.com/plinth-dev/plinth/cmd/plinth-node/app"
	"github.com/plinth-dev/plinth/cni-plugin/agent"
	"github.com/plinth-dev/plinth/controllers/node/orphans"
	"github.com/plinth-dev/plinth/csi-driver/hostmount"
	"github.com/plinth-dev/plinth/csi-driver/registration"
)

// flags are the command line of plinth-node.
type flags struct {
	cfg            app.Config
	network        agent.Config
	networkOn      bool
	networkPolicy  bool
	cleanupNetwork bool
	metricsSecure  bool
	clusterCIDRs   string
	mode           string
	qps            float64
}

func parseFlags() *flags {
	f := &flags{}
	p := &f.cfg.Plugin
	p.DriverName, p.Version = wellknown.DriverName, version.Version
	flag.StringVar(&p.NodeName, "node-name", os.Getenv("NODE_NAME"), "Name of this Kubernetes node (default $NODE_NAME).")
	flag.StringVar(&p.Endpoint, "csi-endpoint", "unix:///var/lib/kubelet/plugins/"+wellknown.DriverName+"/csi.sock", "CSI socket to serve.")
	flag.StringVar(&p.KubeletEndpoint, "kubelet-csi-endpoint", "", "CSI socket path as the kubelet sees it (default: the --csi-endpoint path).")
	flag.StringVar(&p.RegistryDir, "kubelet-registry-dir", registration.DefaultRegistryDir, "Kubelet plugin registry directory; empty disables registration.")
	flag.StringVar(&p.PoolDir, "pool-dir", "/var/lib/plinth/pool", "Directory holding the volumes (XFS with reflink or btrfs for instant snapshots).")
	flag.Float64Var(&p.OverProvisionRatio, "over-provision-ratio", 1,
		"Space the pool may promise to volumes and snapshots, as a multiple of its filesystem's size; above 1 a full disk shows as I/O errors in the volumes.")
	p.PoolReserveBytes = defaultPoolReserve
	flag.Var(bytesFlag{&p.PoolReserveBytes}, "pool-reserve", "Space kept free on the pool's filesystem, as a quantity (the larger of this and --pool-reserve-percent applies).")
	flag.Float64Var(&p.PoolReservePercent, "pool-reserve-percent", defaultPoolReservePercent,
		"Share of the pool filesystem's size kept free, in percent. Both reserves apply only to a pool on the filesystem of --kubelet-dir or of the host's root.")
	flag.StringVar(&p.HostRoot, "host-root", "", "The host's root directory as plinth-node sees it (such as /host/proc/1/root); empty when it runs on the host.")
	flag.StringVar(&p.KubeletDir, "kubelet-dir", "/var/lib/kubelet", "Kubelet's root directory; staging and target paths outside it are refused.")
	flag.Func("allowed-mount-options", "Comma-separated mount options the driver refuses by default that this node allows ("+refusedMountOptions()+").",
		func(v string) error { p.AllowedMountOptions = strings.Split(v, ","); return nil })
	p.EphemeralMaxVolumeBytes, p.EphemeralMaxTotalBytes = defaultEphemeralMaxVolume, defaultEphemeralMaxTotal
	flag.Var(bytesFlag{&p.EphemeralMaxVolumeBytes}, "ephemeral-max-volume-size", "Largest inline ephemeral volume, as a quantity; 0 means no limit.")
	flag.Var(bytesFlag{&p.EphemeralMaxTotalBytes}, "ephemeral-max-total-size", "Largest sum of the sizes of this node's inline ephemeral volumes, as a quantity; 0 means no limit.")
	flag.StringVar(&p.DefaultFSType, "default-fstype", "ext4", "Filesystem for volumes whose StorageClass names none (ext4 or xfs).")
	flag.Int64Var(&p.MaxVolumesPerNode, "max-volumes-per-node", 0, "Volume limit reported to the scheduler; 0 means none.")
	flag.StringVar(&p.MetricsAddress, "csi-metrics-bind-address", "127.0.0.1:9808",
		"Address of a plain-HTTP, unauthenticated copy of the CSI operation metrics, loopback by default; 0 disables it. "+
			"The metrics endpoint serves them at /metrics/csi behind its authentication.")
	flag.StringVar(&f.cfg.Namespace, "namespace", envOr("POD_NAMESPACE", "plinth-system"), "Namespace of Plinth, home of the CSIStorageCapacity objects.")
	flag.StringVar(&f.cfg.DaemonSet, "daemonset", "", "plinth-node's DaemonSet in --namespace, watched for the uninstall request of the Helm chart; empty disables it.")
	flag.StringVar(&f.cfg.PodName, "pod-name", os.Getenv("POD_NAME"), "This pod's name, on which the node reports its uninstall cleanup (default $POD_NAME).")
	flag.StringVar(&f.cfg.HostMountNS, "host-mount-namespace", hostmount.DefaultHostMountNS, "The host's mount namespace, where the uninstall releases the pool directory.")
	flag.StringVar(&f.cfg.MetricsAddress, "metrics-bind-address", ":9809", "Address of the controllers' and the CSI driver's metrics; 0 disables them.")
	flag.BoolVar(&f.metricsSecure, "metrics-secure", true,
		"Serve the metrics over HTTPS to scrapers the API server authenticates and authorizes (get on /metrics, /metrics/csi); false serves plain HTTP to anyone.")
	flag.StringVar(&f.cfg.MetricsCertDir, "metrics-cert-dir", "", "Directory with tls.crt and tls.key of the metrics endpoint; empty uses a self-signed certificate.")
	flag.StringVar(&f.cfg.HealthAddress, "health-probe-bind-address", ":9810",
		"Address of the unauthenticated /healthz and /readyz probes, such as $(POD_IP):9810 (an IPv6 host needs no brackets); 0 disables them.")
	flag.IntVar(&f.cfg.Workers, "workers", 16, "Claims and snapshots handled in parallel.")
	flag.Float64Var(&f.qps, "kube-api-qps", app.DefaultQPS, "Requests per second to the API server.")
	flag.IntVar(&f.cfg.Burst, "kube-api-burst", app.DefaultBurst, "Burst of requests to the API server.")
	flag.BoolVar(&f.cfg.CacheOwnObjectsOnly, "cache-own-objects-only", true,
		"Cache and watch only the PVs and snapshot contents labelled "+wellknown.LabelNode+"=<this node> or "+wellknown.NodeUnclaimed+", not the cluster's. "+
			"Plinth labels what it creates; plinth-controller's node-label controller labels the others (imports, PVs made by hand) "+wellknown.NodeUnclaimed+": "+
			"turn this off when that controller does not run.")
	flag.DurationVar(&f.cfg.CapacityResync, "capacity-resync", time.Minute, "Period of the capacity refresh that catches changes outside the API.")
	flag.DurationVar(&f.cfg.OrphanInterval, "orphan-sweep-interval", orphans.DefaultInterval, "Period of the sweep for volumes nothing in the API refers to.")
	flag.DurationVar(&f.cfg.OrphanGrace, "orphan-grace-period", orphans.DefaultGrace, "How long a volume must stay unreferenced before the sweep reports it (and deletes it when provably orphaned).")
	f.bindNetworkFlags()
	return f
}

func (f *flags) bindNetworkFlags() {
	n := &f.network
	flag.BoolVar(&f.networkOn, "network", true, "Run the pod network agent (CNI config, routes, masquerade).")
	flag.BoolVar(&f.networkPolicy, "network-policy", true, "Enforce NetworkPolicies on this node's pods (with --network); false removes the rules an earlier run programmed.")
	flag.BoolVar(&f.cleanupNetwork, "cleanup-network", false, "Remove everything the network agent installed on this node, the IPAM store included, then exit.")
	flag.StringVar(&f.clusterCIDRs, "cluster-cidrs", "", "Comma-separated pod CIDRs of the cluster, kept from masquerade (a ClusterNetwork overrides them; "+
		"unset: kubeadm's podSubnet if readable, else the union of the Nodes' pod CIDRs).")
	flag.StringVar(&f.mode, "network-mode", string(agent.ModeAuto), "Inter-node data path: auto, host-gw or vxlan (a ClusterNetwork overrides it).")
	flag.BoolVar(&n.Masquerade, "masquerade", true, "Masquerade pod traffic leaving the cluster CIDRs (a ClusterNetwork overrides it).")
	flag.IntVar(&n.PodMTU, "pod-mtu", 0, "Pod interface MTU; 0 derives it from the node's network.")
	flag.StringVar(&n.PluginBinary, "cni-plugin-binary", "/usr/local/bin/plinth-cni", "The plinth-cni binary to install.")
	flag.StringVar(&n.CNIBinDir, "cni-bin-dir", agent.DefaultCNIBinDir, "Directory the container runtime runs CNI plugins from.")
	flag.StringVar(&n.CNIConfDir, "cni-conf-dir", agent.DefaultCNIConfDir, "Directory the container runtime reads CNI configs from.")
}

func main() {
	if len(os.Args) > 1 && os.Args[1] == "version" {
		fmt.Println(version.String("plinth-node"))
		return
	}
	if len(os.Args) > 1 && os.Args[1] == "prepare-host" {
		os.Exit(prepareHost(os.Args[2:]))
	}
	if len(os.Args) > 1 && os.Args[1] == "install-cni" {
		os.Exit(installCNI(os.Args[2:]))
	}
	f := parseFlags()
	logOpts := zap.Options{}
	logOpts.BindFlags(flag.CommandLine)
	flag.Parse()
	log := zap.New(zap.UseFlagOptions(&logOpts))
	logf.SetLogger(log)
	f.cfg.Plugin.Logger = log
	if err := run(f); err != nil {
		log.Error(err, "plinth-node failed")
		os.Exit(1)
	}
}

func run(f *flags) error {
	if f.cfg.Plugin.NodeName == "" {
		return fmt.Errorf("failed to start: --node-name or $NODE_NAME is required")
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	f.network.NodeName, f.network.Mode = f.cfg.Plugin.NodeName, agent.Mode(f.mode)
	if f.clusterCIDRs != "" {
		f.network.ClusterCIDRs = strings.Split(f.clusterCIDRs, ",")
	}
	if f.cleanupNetwork {
		return cleanupNetwork(ctx, f.network)
	}
	restConfig, err := config.GetConfig()
	if err != nil {
		return fmt.Errorf("failed to load the Kubernetes client configuration: %w", err)
	}
	// The node's zone and region are watched by app.Run, through the
	// manager's Node informer, for the driver and the controllers alike.
	f.cfg.RestConfig, f.cfg.QPS = restConfig, float32(f.qps)
	f.cfg.InsecureMetrics = !f.metricsSecure
	if f.networkOn {
		f.cfg.Network = &f.network
		f.cfg.NoNetworkPolicy = !f.networkPolicy
	}
	return app.Run(ctx, f.cfg)
}

// cleanupNetwork is the uninstall of the pod network from this node; pods
// still running keep their addresses in the kernel (see agent.Uninstall).
func cleanupNetwork(ctx context.Context, cfg agent.Config) error {
	a, err := agent.New(cfg)
	if err != nil {
		return fmt.Errorf("failed to create the network agent: %w", err)
	}
	return a.Uninstall(ctx)
}

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

// installCNI is `plinth-node install-cni`, the node pod's init container:
// it installs the plinth-cni binary into the host's CNI bin dir, and the
// loopback plugin when the host has none, then exits.
func installCNI(args []string) int {
	flags := flag.NewFlagSet("install-cni", flag.ContinueOnError)
	binary := flags.String("cni-plugin-binary", "/usr/local/bin/plinth-cni", "The plinth-cni binary to install.")
	loopback := flags.String("loopback-binary", "/usr/local/bin/loopback",
		"The reference loopback plugin, installed when the CNI bin dir has none (and then removed by --cleanup-network); empty disables.")
	binDir := flags.String("cni-bin-dir", agent.DefaultCNIBinDir, "Directory the container runtime runs CNI plugins from.")
	if err := flags.Parse(args); err != nil {
		return 2
	}
	if err := agent.InstallPlugin(*binary, *binDir); err != nil {
		fmt.Fprintf(os.Stderr, "install-cni: %v\n", err)
		return 1
	}
	fmt.Printf("installed %s into %s\n", *binary, *binDir)
	if err := installLoopback(*loopback, *binDir); err != nil {
		fmt.Fprintf(os.Stderr, "install-cni: %v\n", err)
		return 1
	}
	return 0
}

// installLoopback installs the loopback plugin unless disabled (empty
// binary) or already present. A binary missing from the image is only
// reported: it costs pod networking, and failing would keep storage down too.
func installLoopback(binary, binDir string) error {
	if binary == "" {
		return nil
	}
	if _, err := os.Stat(binary); errors.Is(err, fs.ErrNotExist) {
		fmt.Fprintf(os.Stderr, "install-cni: not installing the loopback plugin: %v\n", err)
		return nil
	}
	installed, err := agent.InstallLoopback(binary, binDir)
	if err != nil {
		return err
	}
	if installed {
		fmt.Printf("installed %s into %s\n", binary, binDir)
	} else {
		fmt.Printf("kept the loopback plugin already in %s\n", binDir)
	}
	return nil
}
