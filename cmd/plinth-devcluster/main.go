// Command plinth-devcluster runs the local development cluster of `make run`:
// a real control plane with simulated nodes, until interrupted.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
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
	opts := zap.Options{}
	opts.BindFlags(flag.CommandLine)
	flag.Parse()
	logf.SetLogger(zap.New(zap.UseFlagOptions(&opts)))

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return devcluster.Run(ctx, cfg)
}
