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

package snapshotschedule

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	snapshotv1 "github.com/kubernetes-csi/external-snapshotter/client/v8/apis/volumesnapshot/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/wait"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"

	storagev1alpha1 "github.com/plinth-dev/plinth/apis/storage/v1alpha1"
	"github.com/plinth-dev/plinth/test/controlplane"
	"github.com/plinth-dev/plinth/test/prereq"
)

// apiServer is the envtest control plane the package's tests share; it
// starts on first use and stops in TestMain.
var apiServer struct {
	once sync.Once
	env  *envtest.Environment
	cfg  *rest.Config
	err  error
}

func TestMain(m *testing.M) {
	code := m.Run()
	if apiServer.env != nil {
		if err := apiServer.env.Stop(); err != nil {
			fmt.Fprintln(os.Stderr, "failed to stop envtest:", err)
		}
	}
	os.Exit(code)
}

// testScheme knows the types the controller reads and writes.
func testScheme(t *testing.T) *runtime.Scheme {
	t.Helper()
	s := runtime.NewScheme()
	for _, add := range []func(*runtime.Scheme) error{clientgoscheme.AddToScheme, snapshotv1.AddToScheme, storagev1alpha1.AddToScheme} {
		if err := add(s); err != nil {
			t.Fatal(err)
		}
	}
	return s
}

// startAPIServer returns the config of the shared API server with the
// schedule and snapshot CRDs installed, skipping (or failing under CI)
// without the etcd and kube-apiserver binaries.
func startAPIServer(t *testing.T) *rest.Config {
	t.Helper()
	root, err := controlplane.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	dir := os.Getenv("KUBEBUILDER_ASSETS")
	if dir == "" {
		dir = filepath.Join(root, "bin", "k8s")
	}
	for _, bin := range []string{"etcd", "kube-apiserver"} {
		_, err := os.Stat(filepath.Join(dir, bin))
		prereq.Require(t, err == nil, "%s in %s (run `make k8s-bins` or set KUBEBUILDER_ASSETS)", bin, dir)
	}
	apiServer.once.Do(func() {
		apiServer.env = &envtest.Environment{
			BinaryAssetsDirectory: dir,
			CRDDirectoryPaths: []string{
				filepath.Join(root, "config", "crd", "bases"),
				filepath.Join(root, "config", "crd", "snapshot"),
			},
			ErrorIfCRDPathMissing: true,
		}
		apiServer.cfg, apiServer.err = apiServer.env.Start()
	})
	if apiServer.err != nil {
		t.Fatalf("failed to start envtest: %v", apiServer.err)
	}
	return apiServer.cfg
}

// newClient returns an uncached client of the shared API server and a fresh
// namespace for the test.
func newClient(t *testing.T) (client.WithWatch, string) {
	t.Helper()
	c, err := client.NewWithWatch(startAPIServer(t), client.Options{Scheme: testScheme(t)})
	if err != nil {
		t.Fatal(err)
	}
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: "snapsched-"}}
	if err := c.Create(context.Background(), ns); err != nil {
		t.Fatal(err)
	}
	return c, ns.Name
}

// eventually polls cond until it holds, failing the test at the deadline.
func eventually(t *testing.T, timeout time.Duration, what string, cond func(context.Context) (bool, error)) {
	t.Helper()
	if err := wait.PollUntilContextTimeout(context.Background(), 50*time.Millisecond, timeout, true, cond); err != nil {
		t.Fatalf("failed waiting for %s: %v", what, err)
	}
}
