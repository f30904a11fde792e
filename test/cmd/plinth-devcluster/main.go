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

// Command plinth-devcluster runs the local development cluster of `make
// run`: a control plane and real nodes with Plinth's Helm chart installed
// (unless --plinth=false), until interrupted, or, with --exec, until a
// command run against it ends (`make test-upstream`). It is development
// tooling, built from the test harness, and never shipped.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"k8s.io/apimachinery/pkg/api/resource"

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
	flag.IntVar(&cfg.Nodes, "nodes", 2, "number of real nodes")
	flag.IntVar(&cfg.Zones, "zones", 2, "number of zones the nodes are spread over")
	flag.StringVar(&cfg.Pool, "pool", "xfs", "the nodes' pools: xfs (an XFS image of its own, reflink snapshots) or dir (a directory on this machine's filesystem)")
	poolSize := flag.String("pool-size", "4Gi", "size of each node's XFS pool image (sparse: it takes the disk space its volumes write)")
	flag.BoolVar(&cfg.Plinth, "plinth", true, "install the Helm chart; false leaves the nodes without a pod network")
	flag.StringVar(&cfg.BinDir, "bin-dir", "bin", "the repository's bin/ (k8s/, node/, images/, pause)")
	flag.StringVar(&cfg.Helm, "helm", "bin/helm", "helm binary")
	flag.StringVar(&cfg.Chart, "chart", "charts/plinth", "chart to install")
	execCmd := flag.String("exec", "", "a command (run by sh -c, with KUBECONFIG and kubectl on PATH) to run once the cluster is up; the cluster stops when it ends, and its failure is this program's")
	flag.Parse()
	if *execCmd != "" {
		cfg.Exec = []string{"sh", "-c", *execCmd}
	}
	cfg.Values = flag.Args()
	size, err := resource.ParseQuantity(*poolSize)
	if err != nil || size.Value() < 512<<20 {
		return fmt.Errorf("invalid --pool-size %q: want a size of at least 512Mi, such as 4Gi", *poolSize)
	}
	cfg.PoolSize = size.Value()
	if os.Geteuid() != 0 {
		return fmt.Errorf("real nodes need root (namespaces, mounts, cgroups, loop devices): run it as root")
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return devcluster.Run(ctx, cfg)
}
