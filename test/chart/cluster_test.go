package chart_test

import (
	"bufio"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	snapshotv1 "github.com/kubernetes-csi/external-snapshotter/client/v8/apis/volumesnapshot/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/wait"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"

	storagev1alpha1 "github.com/plinth-dev/plinth/apis/storage/v1alpha1"
	"github.com/plinth-dev/plinth/test/controlplane"
	"github.com/plinth-dev/plinth/test/devcluster"
	"github.com/plinth-dev/plinth/test/testpool"
)

const (
	waitTimeout = 3 * time.Minute
	gib         = int64(1) << 30
	releaseNS   = "plinth-system"
)

// chartCluster is a control plane with three simulated nodes, each with an
// XFS pool, whose Plinth pods run as host processes.
type chartCluster struct {
	cp     *controlplane.ControlPlane
	plinth *devcluster.Plinth
}

var nodeSpecs = []controlplane.NodeSpec{
	{Name: "node-1", Zone: "zone-a", Region: "region-1"},
	{Name: "node-2", Zone: "zone-a", Region: "region-1"},
	{Name: "node-3", Zone: "zone-b", Region: "region-1"},
}

func testScheme(t testing.TB) *runtime.Scheme {
	t.Helper()
	s := runtime.NewScheme()
	for _, add := range []func(*runtime.Scheme) error{clientgoscheme.AddToScheme, snapshotv1.AddToScheme, storagev1alpha1.AddToScheme, apiextensionsv1.AddToScheme} {
		if err := add(s); err != nil {
			t.Fatal(err)
		}
	}
	return s
}

// startChartCluster starts the control plane (without any CRD: the chart
// brings them) and installs the chart the way `make run` does: XFS pools,
// the process runner, helm install --create-namespace --wait.
func startChartCluster(t *testing.T) *chartCluster {
	testpool.RequireNodeTools(t)
	cp := controlplane.StartForTest(t, controlplane.Options{Scheme: testScheme(t), Nodes: nodeSpecs})
	if err := cp.WaitForNodesReady(t.Context(), waitTimeout); err != nil {
		t.Fatal(err)
	}
	cc := &chartCluster{cp: cp, plinth: devcluster.NewPlinth(devcluster.PlinthOptions{
		Dir: shortTempDir(t), BinDir: buildBinaries(t), Helm: helmBinary(t), Chart: chartDir(t),
		PoolSize: 2 * gib, Values: installValues, Logger: zap.New(zap.WriteTo(openLog(t, cp, "hostrun"))),
	})}
	t.Cleanup(func() {
		if t.Failed() {
			cc.reportPodLogs(t)
		}
		if err := cc.plinth.Stop(); err != nil {
			t.Errorf("failed to stop the pods' processes: %v", err)
		}
	})
	if err := cc.plinth.Start(t.Context(), cp); err != nil {
		t.Fatal(err)
	}
	return cc
}

func nodeNames() []string {
	names := make([]string, 0, len(nodeSpecs))
	for _, n := range nodeSpecs {
		names = append(names, n.Name)
	}
	return names
}

// shortTempDir returns a temporary directory with a short path: unix
// socket paths under it are limited to 107 bytes.
func shortTempDir(t *testing.T) string {
	dir, err := os.MkdirTemp("", "plinth-chart-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	return dir
}

// buildBinaries builds the binaries the chart's images hold.
func buildBinaries(t *testing.T) string {
	dir := t.TempDir()
	if err := devcluster.BuildBinaries(t.Context(), dir); err != nil {
		t.Fatal(err)
	}
	return dir
}

func openLog(t *testing.T, cp *controlplane.ControlPlane, name string) *os.File {
	path := filepath.Join(cp.Dir, name+".log")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	cp.AddLog(name, path)
	t.Cleanup(func() { _ = f.Close() })
	return f
}

// reportPodLogs prints the tail of every pod's log.
func (cc *chartCluster) reportPodLogs(t *testing.T) {
	for _, path := range cc.plinth.LogFiles() {
		data, err := os.ReadFile(path)
		if err != nil {
			continue
		}
		lines := strings.Split(strings.TrimSpace(string(data)), "\n")
		t.Logf("%s (last lines):\n%s", path, strings.Join(lines[max(0, len(lines)-15):], "\n"))
	}
}

// forbiddenLines returns the log lines of the pods that report a request
// the API server refused for lack of rights.
func (cc *chartCluster) forbiddenLines(t *testing.T) []string {
	var found []string
	for _, path := range cc.plinth.LogFiles() {
		f, err := os.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(f)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			if line := sc.Text(); strings.Contains(strings.ToLower(line), "forbidden") {
				found = append(found, filepath.Base(path)+": "+line)
			}
		}
		_ = f.Close()
	}
	return found
}

// kubeconfigEnv makes helm and kubectl talk to the control plane as admin.
func (cc *chartCluster) kubeconfigEnv() []string {
	return []string{"KUBECONFIG=" + cc.cp.KubeconfigPath}
}

// kubectl runs the control plane's kubectl with input on stdin.
func (cc *chartCluster) kubectl(t *testing.T, input string, args ...string) (string, error) {
	binDir, err := controlplane.FindBinDir(cc.cp.Options().BinDir)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(filepath.Join(binDir, "kubectl"), append([]string{"--kubeconfig", cc.cp.KubeconfigPath}, args...)...)
	cmd.Stdin = strings.NewReader(input)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

func poll(t testing.TB, what string, cond func(context.Context) (bool, error)) {
	t.Helper()
	if err := wait.PollUntilContextTimeout(t.Context(), 200*time.Millisecond, waitTimeout, true, cond); err != nil {
		t.Fatalf("waiting for %s: %v", what, err)
	}
}

// waitGone waits until obj no longer exists.
func (cc *chartCluster) waitGone(t testing.TB, obj client.Object) {
	t.Helper()
	poll(t, obj.GetName()+" deleted", func(ctx context.Context) (bool, error) {
		err := cc.cp.Client.Get(ctx, client.ObjectKeyFromObject(obj), obj)
		return apierrors.IsNotFound(err), client.IgnoreNotFound(err)
	})
}
