package devcluster

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/plinth-dev/plinth/test/controlplane"
)

// Config describes the local cluster.
type Config struct {
	// Dir holds all state of the cluster; it is wiped at start.
	Dir string
	// Nodes is the number of simulated nodes, spread evenly over Zones zones.
	Nodes, Zones int
	// Steps run in order once the control plane is up; a later component
	// (the plinth controllers, one plinth-node per node) is one step.
	Steps []Step
	// Out receives the instructions for using the cluster.
	Out io.Writer
}

// Step starts one more component of the local cluster. It returns once the
// component runs; the component stops when ctx is cancelled.
type Step struct {
	Name  string
	Start func(ctx context.Context, cp *controlplane.ControlPlane) error
	// Usage, when set, is printed with the cluster's instructions.
	Usage string
	// Stop, when set, releases what Start set up outside the control plane
	// (processes, mounts); Run calls it, in reverse order of the steps,
	// also when a later step failed.
	Stop func() error
}

// NodeSpecs returns n nodes named node-1..node-n in zones zone-a, zone-b, ...
// of region region-1, the first zones holding the extra nodes.
func NodeSpecs(n, zones int) []controlplane.NodeSpec {
	if zones < 1 {
		zones = 1
	}
	specs := make([]controlplane.NodeSpec, n)
	for i := range specs {
		zone := "zone-" + string(rune('a'+i*zones/n)) //nolint:gosec // at most n zones
		specs[i] = controlplane.NodeSpec{Name: fmt.Sprintf("node-%d", i+1), Zone: zone, Region: "region-1"}
	}
	return specs
}

// Run starts the cluster, prints how to use it, and blocks until ctx is
// cancelled; then it stops everything.
func Run(ctx context.Context, cfg Config) (err error) {
	dir, err := filepath.Abs(cfg.Dir)
	if err != nil {
		return fmt.Errorf("failed to resolve %s: %w", cfg.Dir, err)
	}
	if err := reset(dir); err != nil {
		return err
	}
	began := time.Now()
	cp, err := controlplane.Start(ctx, controlplane.Options{Dir: dir, Nodes: NodeSpecs(cfg.Nodes, cfg.Zones)})
	if err != nil {
		return fmt.Errorf("failed to start the control plane: %w", err)
	}
	defer func() {
		if stopErr := cp.Stop(); stopErr != nil && err == nil {
			err = stopErr
		}
	}()
	if err := cp.WaitForNodesReady(ctx, 2*time.Minute); err != nil {
		return err
	}
	for i, step := range cfg.Steps {
		if step.Stop != nil {
			defer func() {
				if stopErr := cfg.Steps[i].Stop(); stopErr != nil {
					err = errors.Join(err, fmt.Errorf("failed to stop %s: %w", step.Name, stopErr))
				}
			}()
		}
		if err := step.Start(ctx, cp); err != nil {
			return fmt.Errorf("failed to start %s: %w", step.Name, err)
		}
	}
	kubeconfig := filepath.Join(dir, "kubeconfig")
	if err := os.Symlink(cp.KubeconfigPath, kubeconfig); err != nil {
		return fmt.Errorf("failed to link the kubeconfig: %w", err)
	}
	printUsage(cfg.Out, cp, kubeconfig, time.Since(began))
	for _, step := range cfg.Steps {
		if step.Usage != "" {
			_, _ = fmt.Fprintln(cfg.Out, step.Usage)
		}
	}
	_, _ = fmt.Fprintln(cfg.Out, "\nPress Ctrl-C to stop.")
	<-ctx.Done()
	_, _ = fmt.Fprintln(cfg.Out, "stopping the local cluster")
	return nil
}

// reset stops what an earlier, killed run left behind and empties dir.
func reset(dir string) error {
	if err := killStale(dir); err != nil {
		return err
	}
	// A killed run leaves its pools and volumes mounted: RemoveAll must
	// not descend into them.
	if err := unmountAll(dir); err != nil {
		return err
	}
	if err := os.RemoveAll(dir); err != nil {
		return fmt.Errorf("failed to clean %s: %w", dir, err)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("failed to create %s: %w", dir, err)
	}
	return nil
}

func printUsage(out io.Writer, cp *controlplane.ControlPlane, kubeconfig string, took time.Duration) {
	_, _ = fmt.Fprintf(out, `
Plinth local cluster is up (%s): etcd, kube-apiserver, kube-controller-manager,
kube-scheduler and %d simulated nodes.

  export KUBECONFIG=%s PATH=%s:$PATH
  kubectl get nodes -L topology.kubernetes.io/zone
  kubectl get nodes -o custom-columns=NAME:.metadata.name,POD-CIDR:.spec.podCIDR

Component logs:
`, took.Round(time.Millisecond), len(cp.Options().Nodes), kubeconfig, cp.Options().BinDir)
	logs := cp.LogPaths()
	for _, name := range slices.Sorted(maps.Keys(logs)) {
		_, _ = fmt.Fprintf(out, "  %-24s %s\n", name, logs[name])
	}
}
