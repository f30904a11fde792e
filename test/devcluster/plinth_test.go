package devcluster

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/tools/clientcmd"
	mount "k8s.io/mount-utils"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"

	storagev1alpha1 "github.com/plinth-dev/plinth/apis/storage/v1alpha1"
	"github.com/plinth-dev/plinth/test/controlplane"
	"github.com/plinth-dev/plinth/test/prereq"
	"github.com/plinth-dev/plinth/test/testpool"
)

// TestRunInstallsPlinth is `make run`: the chart is installed into the
// local cluster, every node's pool comes up Ready, and stopping leaves no
// mount behind (the next run could not clean its directory otherwise).
func TestRunInstallsPlinth(t *testing.T) {
	testpool.RequireNodeTools(t)
	root, err := controlplane.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	_, err = controlplane.FindBinDir("")
	prereq.Require(t, err == nil, "control-plane binaries: %v", err)
	helm := filepath.Join(root, "bin", "helm")
	_, err = os.Stat(helm)
	prereq.Require(t, err == nil, "helm is missing at %s: run `make helm`", helm)
	binDir := t.TempDir()
	if err := BuildBinaries(t.Context(), binDir); err != nil {
		t.Fatal(err)
	}
	dir, err := os.MkdirTemp("", "plinth-run-") // short: socket paths live under it
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(dir) })

	ctx, cancel := context.WithCancel(t.Context())
	step := InstallPlinth(PlinthOptions{Dir: dir, BinDir: binDir, Helm: helm, Chart: filepath.Join(root, "charts", "plinth"),
		PoolSize: 1 << 30, Logger: zap.New(zap.WriteTo(os.Stderr))})
	done := make(chan error, 1)
	go func() { done <- Run(ctx, Config{Dir: dir, Nodes: 2, Zones: 1, Steps: []Step{step}, Out: io.Discard}) }()

	waitForReadyPools(t, filepath.Join(dir, "kubeconfig"), 2, done)
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Run: %v", err)
		}
	case <-time.After(2 * time.Minute):
		t.Fatal("Run did not return after cancellation")
	}
	if err := unmountAll(dir); err != nil {
		t.Fatal(err)
	}
	if left := mountsUnder(t, dir); len(left) > 0 {
		t.Errorf("mounts left after the run stopped: %v", left)
	}
}

// waitForReadyPools waits until the cluster's kubeconfig exists and n
// StoragePools are Ready, failing early if Run returns.
func waitForReadyPools(t *testing.T, kubeconfig string, n int, done <-chan error) {
	var c client.Client
	err := wait.PollUntilContextTimeout(t.Context(), 500*time.Millisecond, 4*time.Minute, true, func(ctx context.Context) (bool, error) {
		select {
		case err := <-done:
			t.Fatalf("Run returned early: %v", err)
		default:
		}
		if c == nil {
			cfg, err := clientcmd.BuildConfigFromFlags("", kubeconfig)
			if err != nil {
				return false, nil //nolint:nilerr // not written yet
			}
			if c, err = client.New(cfg, client.Options{Scheme: poolScheme(t)}); err != nil {
				return false, err
			}
		}
		pools := &storagev1alpha1.StoragePoolList{}
		if err := c.List(ctx, pools); err != nil {
			return false, nil //nolint:nilerr // the CRD may not be installed yet
		}
		ready := 0
		for _, p := range pools.Items {
			for _, cond := range p.Status.Conditions {
				if cond.Type == "Ready" && cond.Status == "True" {
					ready++
				}
			}
		}
		return ready == n, nil
	})
	if err != nil {
		t.Fatalf("waiting for %d Ready StoragePools: %v", n, err)
	}
}

func poolScheme(t *testing.T) *runtime.Scheme {
	s := runtime.NewScheme()
	if err := storagev1alpha1.AddToScheme(s); err != nil {
		t.Fatal(err)
	}
	return s
}

// mountsUnder lists the mount points at or below dir.
func mountsUnder(t *testing.T, dir string) []string {
	points, err := mount.New("").List()
	if err != nil {
		t.Fatal(err)
	}
	var left []string
	for _, p := range points {
		if p.Path == dir || strings.HasPrefix(p.Path, dir+"/") {
			left = append(left, p.Path)
		}
	}
	return left
}
