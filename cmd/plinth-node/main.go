// Command plinth-node is Plinth's per-node agent: it serves the CSI driver
// for the node's local pool and registers it with the kubelet.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"k8s.io/client-go/kubernetes"
	"sigs.k8s.io/controller-runtime/pkg/client/config"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"

	"github.com/plinth-dev/plinth/csi-driver/driver"
	"github.com/plinth-dev/plinth/csi-driver/plugin"
	"github.com/plinth-dev/plinth/csi-driver/registration"
	"github.com/plinth-dev/plinth/csi-driver/topology"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

func main() {
	cfg := plugin.Config{DriverName: driver.DefaultName, Version: version}
	flag.StringVar(&cfg.NodeName, "node-name", os.Getenv("NODE_NAME"), "Name of this Kubernetes node (default $NODE_NAME).")
	flag.StringVar(&cfg.Endpoint, "csi-endpoint", "unix:///var/lib/kubelet/plugins/"+driver.DefaultName+"/csi.sock", "CSI socket to serve.")
	flag.StringVar(&cfg.KubeletEndpoint, "kubelet-csi-endpoint", "", "CSI socket path as the kubelet sees it (default: the --csi-endpoint path).")
	flag.StringVar(&cfg.RegistryDir, "kubelet-registry-dir", registration.DefaultRegistryDir, "Kubelet plugin registry directory; empty disables registration.")
	flag.StringVar(&cfg.PoolDir, "pool-dir", "/var/lib/plinth/pool", "Directory holding the volumes (XFS with reflink or btrfs for instant snapshots).")
	flag.Float64Var(&cfg.OverProvisionRatio, "over-provision-ratio", 1, "Capacity offered as a multiple of the pool's free space.")
	flag.StringVar(&cfg.DefaultFSType, "default-fstype", "ext4", "Filesystem for volumes whose StorageClass names none (ext4 or xfs).")
	flag.Int64Var(&cfg.MaxVolumesPerNode, "max-volumes-per-node", 0, "Volume limit reported to the scheduler; 0 means none.")
	flag.StringVar(&cfg.MetricsAddress, "metrics-address", ":9808", "Address of the Prometheus metrics endpoint; empty disables it.")
	nodeTopology := flag.Bool("topology-from-node-labels", false, "Report the Node's zone and region labels as topology (needs get on nodes).")
	logOpts := zap.Options{}
	logOpts.BindFlags(flag.CommandLine)
	flag.Parse()

	cfg.Logger = zap.New(zap.UseFlagOptions(&logOpts))
	if err := run(cfg, *nodeTopology); err != nil {
		cfg.Logger.Error(err, "plinth-node failed")
		os.Exit(1)
	}
}

func run(cfg plugin.Config, nodeTopology bool) error {
	if cfg.NodeName == "" {
		return fmt.Errorf("failed to start: --node-name or $NODE_NAME is required")
	}
	if nodeTopology {
		restConfig, err := config.GetConfig()
		if err != nil {
			return fmt.Errorf("failed to load the Kubernetes client configuration: %w", err)
		}
		client, err := kubernetes.NewForConfig(restConfig)
		if err != nil {
			return fmt.Errorf("failed to create the Kubernetes client: %w", err)
		}
		cfg.Topology = topology.FromNodeLabels(client, cfg.NodeName)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return plugin.Run(ctx, cfg)
}
