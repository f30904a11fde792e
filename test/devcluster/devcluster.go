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

package devcluster

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"syscall"
	"time"

	"github.com/plinth-dev/plinth/test/localcluster"
)

// Release and namespace of the chart in the local cluster.
const (
	Release   = "plinth"
	Namespace = "plinth-system"
)

// Config describes the local cluster.
type Config struct {
	// Dir holds all state of the cluster; it is wiped at start.
	Dir string
	// BinDir is the repository's bin/: k8s/, node/, images/*.tar, pause.
	BinDir string
	// Nodes is the number of real nodes, spread evenly over Zones zones.
	Nodes, Zones int
	// Pool is the nodes' pool: localcluster.PoolXFS or PoolDir.
	Pool string
	// PoolSize is the size of each node's PoolXFS image (sparse); zero
	// means localcluster.DefaultPoolSize.
	PoolSize int64
	// Plinth installs the chart; false leaves a cluster without a pod
	// network for the user to install it into.
	Plinth bool
	// Helm is the helm binary; Chart the chart directory; Values extra
	// `helm install` arguments.
	Helm, Chart string
	Values      []string
	// Out receives the instructions for using the cluster.
	Out io.Writer
	// Exec, when set, is a command (a program and its arguments) that Run
	// runs once the cluster is up, instead of waiting to be interrupted:
	// then it stops the cluster and returns the command's failure. The
	// command gets KUBECONFIG and a PATH that starts with bin/k8s (kubectl).
	Exec []string
}

// NodeSpecs returns n nodes named node-1..node-n in zones zone-a, zone-b, ...
// of region region-1, the first zones holding the extra nodes.
func NodeSpecs(n, zones int) []localcluster.NodeSpec {
	zones = max(zones, 1)
	specs := make([]localcluster.NodeSpec, n)
	for i := range specs {
		zone := "zone-" + string(rune('a'+i*zones/n)) //nolint:gosec // at most n zones
		specs[i] = localcluster.NodeSpec{Name: fmt.Sprintf("node-%d", i+1), Zone: zone, Region: "region-1"}
	}
	return specs
}

// Images lists the image tarballs under binDir/images (`make images` and
// `make e2e-images`).
func Images(binDir string) ([]string, error) {
	images, err := filepath.Glob(filepath.Join(binDir, "images", "*.tar"))
	if err != nil {
		return nil, fmt.Errorf("failed to list images: %w", err)
	}
	if len(images) == 0 {
		return nil, fmt.Errorf("no image tarballs in %s/images: run `make images e2e-images`", binDir)
	}
	return images, nil
}

// Run starts the cluster, installs Plinth, prints how to use it, and
// blocks until ctx is cancelled; then it stops everything.
func Run(ctx context.Context, cfg Config) (err error) {
	began := time.Now()
	images, err := Images(cfg.BinDir)
	if err != nil {
		return err
	}
	nodes := NodeSpecs(cfg.Nodes, cfg.Zones)
	for i := range nodes {
		nodes[i].Pool, nodes[i].PoolSize = cfg.Pool, cfg.PoolSize
	}
	c, err := localcluster.Start(ctx, localcluster.Options{Dir: cfg.Dir, KeepDir: true, BinDir: cfg.BinDir, Nodes: nodes, Images: images})
	if err != nil {
		return fmt.Errorf("failed to start the local cluster: %w", err)
	}
	defer func() { err = errors.Join(err, c.Stop()) }()
	kubeconfig := filepath.Join(c.Dir, "kubeconfig")
	if err := os.Symlink(c.KubeconfigPath, kubeconfig); err != nil {
		return fmt.Errorf("failed to link the kubeconfig: %w", err)
	}
	if cfg.Plinth {
		if err := InstallChart(ctx, c, cfg.Helm, cfg.Chart, cfg.Values...); err != nil {
			return err
		}
		if err := c.WaitNodesReady(ctx, 2*time.Minute); err != nil {
			return err
		}
	}
	if len(cfg.Exec) > 0 {
		return runExec(ctx, cfg, c, kubeconfig, time.Since(began))
	}
	printUsage(cfg, c, kubeconfig, time.Since(began))
	<-ctx.Done()
	_, _ = fmt.Fprintln(cfg.Out, "stopping the local cluster")
	return nil
}

// execGrace is how long an interrupted Exec command has to finish (write
// its reports, delete its objects) before it is killed.
const execGrace = 2 * time.Minute

// runExec runs cfg.Exec against the cluster, in a process group of its own.
// Cancelling ctx interrupts the group (SIGINT, as Ctrl-C would) and kills
// it after execGrace; whatever the command left running is killed when it
// ends, before the cluster stops.
func runExec(ctx context.Context, cfg Config, c *localcluster.Cluster, kubeconfig string, took time.Duration) error {
	k8sBin, err := filepath.Abs(filepath.Join(cfg.BinDir, "k8s"))
	if err != nil {
		return fmt.Errorf("failed to resolve the kubectl directory: %w", err)
	}
	_, _ = fmt.Fprintf(cfg.Out, "local cluster up in %s (%d nodes, logs under %s); running %q\n",
		took.Round(time.Second), len(c.Nodes), c.Dir, cfg.Exec)
	cmd := exec.CommandContext(ctx, cfg.Exec[0], cfg.Exec[1:]...)
	cmd.Env = append(os.Environ(), "KUBECONFIG="+kubeconfig, "PATH="+k8sBin+string(filepath.ListSeparator)+os.Getenv("PATH"))
	cmd.Stdout, cmd.Stderr = cfg.Out, os.Stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGINT) }
	cmd.WaitDelay = execGrace
	began := time.Now()
	err = cmd.Run()
	if cmd.Process != nil {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	}
	_, _ = fmt.Fprintf(cfg.Out, "%q ended after %s; stopping the local cluster\n", cfg.Exec, time.Since(began).Round(time.Second))
	if err != nil {
		return fmt.Errorf("%q: %w", cfg.Exec, err)
	}
	return nil
}

// InstallChart runs `helm install --wait` of the chart into the cluster,
// with helm's own state under the cluster's directory.
func InstallChart(ctx context.Context, c *localcluster.Cluster, helm, chart string, values ...string) error {
	args := append([]string{"install", Release, chart, "--namespace", Namespace, "--create-namespace", "--wait", "--timeout", "5m"}, values...)
	if _, err := Helm(ctx, c, helm, args...); err != nil {
		return err
	}
	return nil
}

// Helm runs a helm command against the cluster and returns its output.
func Helm(ctx context.Context, c *localcluster.Cluster, helm string, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, helm, append(args, "--kubeconfig", c.KubeconfigPath)...)
	home := filepath.Join(c.Dir, "helm")
	cmd.Env = append(os.Environ(), "HELM_CACHE_HOME="+home+"/cache", "HELM_CONFIG_HOME="+home+"/config", "HELM_DATA_HOME="+home+"/data")
	out, err := cmd.CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("helm %v: %w: %s", args, err, out)
	}
	return string(out), nil
}

func printUsage(cfg Config, c *localcluster.Cluster, kubeconfig string, took time.Duration) {
	out := cfg.Out
	_, _ = fmt.Fprintf(out, `
Plinth's local cluster is up (%s): a control plane and %d real nodes (kubelet,
containerd, kube-proxy), each in network, mount and PID namespaces of its own.

  export KUBECONFIG=%s PATH=%s:$PATH
  kubectl get nodes -o wide -L topology.kubernetes.io/zone
`, took.Round(time.Second), len(c.Nodes), kubeconfig, filepath.Join(cfg.BinDir, "k8s"))
	if cfg.Plinth {
		_, _ = fmt.Fprint(out, plinthUsage)
	} else {
		_, _ = fmt.Fprintf(out, "\nNo pod network yet: the nodes stay NotReady until you install Plinth, e.g.\n  helm install plinth %s -n plinth-system --create-namespace\n", cfg.Chart)
	}
	_, _ = fmt.Fprintln(out, "\nLogs:")
	logs := c.LogPaths()
	for _, name := range slices.Sorted(maps.Keys(logs)) {
		_, _ = fmt.Fprintf(out, "  %-24s %s\n", name, logs[name])
	}
	_, _ = fmt.Fprintln(out, "\nPress Ctrl-C to stop; everything the cluster made is removed.")
}

const plinthUsage = `
Plinth is installed (helm release "plinth" in namespace plinth-system) and is
the nodes' pod network and storage:

  kubectl -n plinth-system get pods -o wide
  kubectl apply -k config/samples              # the seed scenarios
  kubectl get pvc,volumesnapshot,pods -o wide  # watch the sample pod run
  kubectl exec app -- cat /data/log            # the data on its Plinth volume
  kubectl exec app-restored -- cat /data/log   # read back from a restore
  helm test plinth -n plinth-system            # provision, snapshot, consume
`
