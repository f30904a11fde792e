package devcluster

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"

	"github.com/go-logr/logr"

	"github.com/plinth-dev/plinth/test/controlplane"
	"github.com/plinth-dev/plinth/test/hostrun"
)

// PlinthOptions configure the step that installs the Helm chart into the
// local cluster.
type PlinthOptions struct {
	// Dir is the cluster's directory; node filesystems go to Dir/nodes.
	Dir string
	// BinDir holds plinth-controller, plinth-node and plinth-cni.
	BinDir string
	// Helm is the helm binary; Chart the chart directory.
	Helm, Chart string
	// PoolSize is the size of each node's XFS pool in bytes.
	PoolSize int64
	// Values are extra `helm install` arguments (--set ...).
	Values []string
	// Logger receives the process runner's log.
	Logger logr.Logger
}

// Release and namespace of the chart in the local cluster.
const (
	PlinthRelease   = "plinth"
	PlinthNamespace = "plinth-system"
	imagePrefix     = "ghcr.io/plinth-dev/"
)

// Plinth is the Helm chart installed for real into a local control plane.
// Simulated nodes have no kubelet, so a process runner (package hostrun)
// plays one for the chart's pods: each runs as a host process
// authenticated as its pod's ServiceAccount, with the node's hostPaths
// under Dir/nodes/<node> and a loop-mounted XFS pool per node. Pod
// networking stays off: its agent would program this machine's own routes.
// Needs root (loop devices, mounts).
type Plinth struct {
	opts   PlinthOptions
	runner *hostrun.Runner
	pools  []string
}

// NewPlinth returns the installation, not started yet.
func NewPlinth(opts PlinthOptions) *Plinth { return &Plinth{opts: opts} }

// InstallPlinth returns the `make run` step that installs the chart.
func InstallPlinth(opts PlinthOptions) Step {
	p := NewPlinth(opts)
	return Step{Name: "Plinth (helm install charts/plinth)", Usage: plinthUsage, Start: p.Start, Stop: p.Stop}
}

// Start mounts the pools, starts the runner and runs helm install --wait.
func (p *Plinth) Start(ctx context.Context, cp *controlplane.ControlPlane) error {
	if os.Geteuid() != 0 {
		return errors.New("the Plinth components need root (loop devices and mounts); run `sudo make run`, or `make run PLINTH=false` for the control plane alone")
	}
	var err error
	if p.pools, err = makePools(ctx, p.opts, cp); err != nil {
		return err
	}
	if p.runner, err = startRunner(ctx, p.opts, cp); err != nil {
		return err
	}
	return helmInstall(ctx, p.opts, cp)
}

// Stop kills the pods' processes and unmounts everything under the pools.
func (p *Plinth) Stop() error {
	var errs []error
	if p.runner != nil {
		errs = append(errs, p.runner.Stop())
	}
	for _, pool := range p.pools {
		errs = append(errs, unmountAll(pool))
	}
	return errors.Join(errs...)
}

// LogFiles lists the pods' log files, one per container.
func (p *Plinth) LogFiles() []string {
	if p.runner == nil {
		return nil
	}
	return p.runner.LogFiles()
}

func nodesRoot(opts PlinthOptions) string { return filepath.Join(opts.Dir, "nodes") }

// makePools mounts a fresh XFS (reflink) image at each node's pool path.
func makePools(ctx context.Context, opts PlinthOptions, cp *controlplane.ControlPlane) ([]string, error) {
	var mounted []string
	for _, n := range cp.Options().Nodes {
		img := filepath.Join(opts.Dir, "pools", n.Name+".img")
		dir := filepath.Join(nodesRoot(opts), n.Name, "var", "lib", "plinth", "pool")
		for _, d := range []string{filepath.Dir(img), dir} {
			if err := os.MkdirAll(d, 0o750); err != nil {
				return mounted, fmt.Errorf("failed to create %s: %w", d, err)
			}
		}
		steps := [][]string{
			{"truncate", "-s", strconv.FormatInt(opts.PoolSize, 10), img},
			{"mkfs.xfs", "-q", "-m", "reflink=1", img},
			{"mount", "-o", "loop", img, dir},
		}
		for _, s := range steps {
			if out, err := exec.CommandContext(ctx, s[0], s[1:]...).CombinedOutput(); err != nil {
				return mounted, fmt.Errorf("%v: %w: %s", s, err, out)
			}
		}
		mounted = append(mounted, dir)
	}
	return mounted, nil
}

func startRunner(ctx context.Context, opts PlinthOptions, cp *controlplane.ControlPlane) (*hostrun.Runner, error) {
	names := make([]string, 0, len(cp.Options().Nodes))
	for _, n := range cp.Options().Nodes {
		names = append(names, n.Name)
	}
	logDir := filepath.Join(opts.Dir, "logs", "pods")
	runner, err := hostrun.Start(ctx, hostrun.Options{
		Config: cp.Config, Nodes: names, Root: nodesRoot(opts), BinDir: opts.BinDir,
		ImagePrefix: imagePrefix, Namespaces: []string{PlinthNamespace},
		SharedHostPaths: []string{"/dev", "/lib/modules"}, LogDir: logDir, Logger: opts.Logger,
	})
	if err != nil {
		return nil, fmt.Errorf("failed to start the pod runner: %w", err)
	}
	cp.AddLog("plinth pods (one log each)", logDir)
	return runner, nil
}

func helmInstall(ctx context.Context, opts PlinthOptions, cp *controlplane.ControlPlane) error {
	args := append([]string{"install", PlinthRelease, opts.Chart, "--namespace", PlinthNamespace, "--create-namespace",
		"--kubeconfig", cp.KubeconfigPath, "--wait", "--timeout", "5m", "--set", "network.enabled=false"}, opts.Values...)
	cmd := exec.CommandContext(ctx, opts.Helm, args...)
	cmd.Env = append(os.Environ(), "HELM_CACHE_HOME="+filepath.Join(opts.Dir, "helm", "cache"),
		"HELM_CONFIG_HOME="+filepath.Join(opts.Dir, "helm", "config"), "HELM_DATA_HOME="+filepath.Join(opts.Dir, "helm", "data"))
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("helm install: %w: %s", err, out)
	}
	return nil
}

const plinthUsage = `Plinth is installed (helm release "plinth" in namespace plinth-system); its
pods run as host processes with their ServiceAccounts' identities:

  kubectl -n plinth-system get pods -o wide
  kubectl get storagepools,csistoragecapacities -A
  kubectl apply -k config/samples        # the seed scenarios
  helm test plinth -n plinth-system      # provision, snapshot, check ready
`

// BuildBinaries builds the binaries the chart's images hold
// (plinth-controller, plinth-node, plinth-cni) into dir, as `make build`
// does for `make run`.
func BuildBinaries(ctx context.Context, dir string) error {
	root, err := controlplane.RepoRoot()
	if err != nil {
		return err
	}
	cmd := exec.CommandContext(ctx, "go", "build", "-o", dir+"/", "./cmd/plinth-controller", "./cmd/plinth-node", "./cmd/plinth-cni")
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go build: %w\n%s", err, out)
	}
	return nil
}
