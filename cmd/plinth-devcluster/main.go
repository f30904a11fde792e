// Command plinth-devcluster runs the local development cluster of `make run`:
// a real control plane with simulated nodes and, unless --plinth=false, the
// Helm chart installed into it with its pods run as host processes, until
// interrupted.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"

	logf "sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"

	"github.com/plinth-dev/plinth/test/devcluster"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "plinth-devcluster:", err)
		os.Exit(1)
	}
}

func run() error {
	cfg := devcluster.Config{Out: os.Stdout}
	flag.StringVar(&cfg.Dir, "dir", "bin/run", "directory for the cluster's state, logs and kubeconfig (wiped at start)")
	flag.IntVar(&cfg.Nodes, "nodes", 3, "number of simulated nodes")
	flag.IntVar(&cfg.Zones, "zones", 2, "number of zones the nodes are spread over")
	withPlinth := flag.Bool("plinth", true, "install the Helm chart (needs root); false runs the control plane alone")
	plinth := devcluster.PlinthOptions{}
	flag.StringVar(&plinth.BinDir, "bin-dir", "bin", "directory holding plinth-controller, plinth-node and plinth-cni")
	flag.StringVar(&plinth.Helm, "helm", "bin/helm", "helm binary")
	flag.StringVar(&plinth.Chart, "chart", "charts/plinth", "chart to install")
	flag.Int64Var(&plinth.PoolSize, "pool-size", 4<<30, "size in bytes of each node's XFS pool (a sparse file)")
	opts := zap.Options{}
	opts.BindFlags(flag.CommandLine)
	flag.Parse()
	log := zap.New(zap.UseFlagOptions(&opts))
	logf.SetLogger(log)
	if *withPlinth {
		dir, err := filepath.Abs(cfg.Dir)
		if err != nil {
			return fmt.Errorf("failed to resolve --dir: %w", err)
		}
		plinth.Dir, plinth.Logger, plinth.Values = dir, log.WithName("hostrun"), flag.Args()
		cfg.Steps = append(cfg.Steps, devcluster.InstallPlinth(plinth))
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return devcluster.Run(ctx, cfg)
}
