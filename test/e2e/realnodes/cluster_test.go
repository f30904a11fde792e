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

package realnodes

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	snapshotv1 "github.com/kubernetes-csi/external-snapshotter/client/v8/apis/volumesnapshot/v1"
	corev1 "k8s.io/api/core/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/wait"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"sigs.k8s.io/controller-runtime/pkg/client"

	networkv1alpha1 "github.com/plinth-dev/plinth/apis/network/v1alpha1"
	storagev1alpha1 "github.com/plinth-dev/plinth/apis/storage/v1alpha1"
	"github.com/plinth-dev/plinth/test/controlplane"
	"github.com/plinth-dev/plinth/test/devcluster"
	"github.com/plinth-dev/plinth/test/localcluster"
	"github.com/plinth-dev/plinth/test/prereq"
)

const (
	// waitTimeout bounds every wait of a scenario.
	waitTimeout = 3 * time.Minute
	// busybox is the test pods' image, imported into the nodes.
	busybox = "registry.k8s.io/e2e-test-images/busybox:1.37.0-1"
	// releaseNS is the chart's namespace.
	releaseNS = devcluster.Namespace
)

// nodeSpecs: two zones; node-1's pool is an XFS disk of its own (reflink
// snapshots), node-2's a plain directory on the machine's filesystem, as
// with the chart's defaults on a node nobody prepared.
var nodeSpecs = []localcluster.NodeSpec{
	{Name: "node-1", Zone: "zone-a", Region: "region-1", Pool: localcluster.PoolXFS, PoolSize: 2 << 30},
	{Name: "node-2", Zone: "zone-b", Region: "region-1", Pool: localcluster.PoolDir},
}

// env is the shared cluster with Plinth installed.
type env struct {
	cluster *localcluster.Cluster
	client  client.Client
	repo    string
	helm    string
	kubectl string
}

var (
	shared     *env
	sharedErr  error
	sharedOnce sync.Once
)

func TestMain(m *testing.M) {
	code := m.Run()
	if shared != nil {
		if err := shared.cluster.Stop(); err != nil {
			fmt.Fprintln(os.Stderr, "failed to stop the local cluster:", err)
			code = 1
		}
		if code == 0 {
			_ = shared.cluster.RemoveDir()
		} else {
			fmt.Fprintln(os.Stderr, "logs of the local cluster kept in", shared.cluster.Dir)
		}
	}
	os.Exit(code)
}

// stopWithLogs stops a cluster when the test ends, keeping its directory
// (logs) if the test failed.
func stopWithLogs(t *testing.T, c *localcluster.Cluster) {
	t.Cleanup(func() {
		if err := c.Stop(); err != nil {
			t.Errorf("failed to stop the cluster: %v", err)
		}
		if t.Failed() {
			t.Logf("logs of the cluster kept in %s", c.Dir)
			return
		}
		_ = c.RemoveDir()
	})
}

// cluster returns the shared cluster, starting it (and installing the
// chart) on first use.
func cluster(t *testing.T) *env {
	t.Helper()
	repo := prerequisites(t)
	sharedOnce.Do(func() { shared, sharedErr = start(t.Context(), repo) })
	if sharedErr != nil {
		t.Fatal(sharedErr)
	}
	t.Cleanup(func() {
		if t.Failed() {
			shared.reportLogs(t)
		}
	})
	return shared
}

// prerequisites checks what real nodes need and returns the repository.
func prerequisites(t testing.TB) string {
	t.Helper()
	prereq.Root(t)
	prereq.Commands(t, "runc", "nsenter", "unshare", "ip", "nft", "mkfs.xfs", "losetup")
	repo, err := controlplane.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(repo, "bin")
	for _, p := range []string{"k8s/kubelet", "k8s/kube-proxy", "node/containerd", "pause", "helm", "kustomize"} {
		_, err := os.Stat(filepath.Join(bin, p))
		prereq.Require(t, err == nil, "%s (run `make test-e2e`, which builds it)", filepath.Join(bin, p))
	}
	_, err = devcluster.Images(bin)
	prereq.Require(t, err == nil, "%v", err)
	return repo
}

func start(ctx context.Context, repo string) (*env, error) {
	bin := filepath.Join(repo, "bin")
	images, err := devcluster.Images(bin)
	if err != nil {
		return nil, err
	}
	// The cluster outlives the test that starts it.
	ctx = context.WithoutCancel(ctx)
	c, err := localcluster.Start(ctx, localcluster.Options{BinDir: bin, Nodes: nodeSpecs, Images: images, KeepDir: true})
	if err != nil {
		return nil, err
	}
	e := &env{cluster: c, repo: repo, helm: filepath.Join(bin, "helm"), kubectl: filepath.Join(bin, "k8s", "kubectl")}
	if e.client, err = client.New(c.Config, client.Options{Scheme: scheme()}); err != nil {
		return e, err
	}
	// The chart's defaults, but for the image pull policy: the images are
	// imported, as a registry pull would leave them.
	if err := devcluster.InstallChart(ctx, c, e.helm, filepath.Join(repo, "charts", "plinth")); err != nil {
		return e, err
	}
	return e, c.WaitNodesReady(ctx, 2*time.Minute)
}

func scheme() *runtime.Scheme {
	s := runtime.NewScheme()
	for _, add := range []func(*runtime.Scheme) error{clientgoscheme.AddToScheme, snapshotv1.AddToScheme,
		storagev1alpha1.AddToScheme, networkv1alpha1.AddToScheme, apiextensionsv1.AddToScheme} {
		if err := add(s); err != nil {
			panic(err)
		}
	}
	return s
}

// reportLogs prints where the components' logs are, and keeps them.
func (e *env) reportLogs(t *testing.T) {
	var b strings.Builder
	for name, path := range e.cluster.LogPaths() {
		fmt.Fprintf(&b, "  %s: %s\n", name, path)
	}
	t.Logf("component logs (kept under %s; pod logs under each node's fs/var/log/pods):\n%s", e.cluster.Dir, b.String())
}

// namespace creates a namespace for one scenario, deleted at its end.
func (e *env) namespace(t *testing.T, name string) string {
	t.Helper()
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}
	if err := e.client.Create(t.Context(), ns); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx := context.WithoutCancel(t.Context())
		_ = e.client.Delete(ctx, ns)
		e.poll(t, "namespace "+name+" deleted", func(ctx context.Context) (bool, error) {
			err := e.client.Get(ctx, client.ObjectKeyFromObject(ns), &corev1.Namespace{})
			return client.IgnoreNotFound(err) == nil && err != nil, nil
		})
	})
	return name
}

// poll waits for cond, failing the test with what after waitTimeout.
func (e *env) poll(t testing.TB, what string, cond func(context.Context) (bool, error)) {
	t.Helper()
	ctx := context.WithoutCancel(t.Context())
	var last error
	err := wait.PollUntilContextTimeout(ctx, 200*time.Millisecond, waitTimeout, true, func(ctx context.Context) (bool, error) {
		ok, err := cond(ctx)
		last = err
		return ok, nil
	})
	if err != nil {
		t.Fatalf("timed out waiting for %s (last error: %v)", what, last)
	}
}

// kubectl runs kubectl against the cluster and returns its output.
func (e *env) kubectlOut(ctx context.Context, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, e.kubectl, append([]string{"--kubeconfig", e.cluster.KubeconfigPath}, args...)...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("kubectl %s: %w: %s", strings.Join(args, " "), err, out)
	}
	return string(out), nil
}

// exec runs a shell command in a pod's container and returns its output.
func (e *env) exec(t testing.TB, ns, pod, script string) string {
	t.Helper()
	out, err := e.kubectlOut(t.Context(), "exec", "-n", ns, pod, "--", "sh", "-c", script)
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(out)
}
