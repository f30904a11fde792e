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

package scale

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	snapshotv1 "github.com/kubernetes-csi/external-snapshotter/client/v8/apis/volumesnapshot/v1"
	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/rest"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/plinth-dev/plinth/cmd/plinth-node/app"
	"github.com/plinth-dev/plinth/internal/wellknown"
	"github.com/plinth-dev/plinth/test/controlplane"
	"github.com/plinth-dev/plinth/test/storagenode"
	"github.com/plinth-dev/plinth/test/testpool"
)

const (
	// nodes is the size of the simulated cluster; measuredNode, the node
	// whose plinth-node is measured, is one of them and holds none of the
	// population.
	nodes        = 1000
	measuredNode = "scale-node"
	// creatorQPS and creatorWorkers are the limits and the parallelism of
	// the client that creates the population and the bursts.
	creatorQPS     = 2000
	creatorWorkers = 32
	// burstObjects is the size of the burst on other nodes: 40% claims,
	// 40% PVs, 20% contents as in the population.
	burstObjects = 250
	// storageClasses is the number of Plinth StorageClasses.
	storageClasses = 3
)

// nodeCache is a cache setting of plinth-node: its flags.
type nodeCache struct {
	name  string
	flags []string
}

// nodeCaches are plinth-node's cache of every PV and snapshot content of
// the cluster (what it had before --cache-own-objects-only, and has when
// plinth-controller's node-label controller is off) and its default, a
// cache of its own and the unclaimed ones.
var nodeCaches = []nodeCache{
	{name: "all", flags: []string{"--cache-own-objects-only=false"}},
	{name: "own"},
}

// populations returns the population sizes of PLINTH_SCALE_OBJECTS, by
// default 1k, 5k and 20k objects.
func populations(b *testing.B) []int {
	value := os.Getenv("PLINTH_SCALE_OBJECTS")
	if value == "" {
		return []int{1000, 5000, 20000}
	}
	var sizes []int
	for field := range strings.SplitSeq(value, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(field))
		if err != nil {
			b.Fatalf("invalid PLINTH_SCALE_OBJECTS %q: %v", value, err)
		}
		sizes = append(sizes, n)
	}
	return sizes
}

// scaleCluster is a control plane with 1,000 Nodes, Plinth's classes and a
// population of objects on all nodes but the measured one.
type scaleCluster struct {
	cp      *controlplane.ControlPlane
	creator client.Client
	pop     *population
	binDir  string
	logDir  string
	poolDir string
	kubelet string
	nodeCfg string
	ctrlCfg string
	nodeNet *countingProxy
	ctrlNet *countingProxy
}

// BenchmarkNodeScale measures one plinth-node, on a node that holds none of
// the population, with each of nodeCaches, and plinth-controller at each
// population size: resident
// memory and Go heap after their caches synced, and the watch events, bytes
// received, API requests and CPU seconds during a burst of objects on other
// nodes. Populations grow one into the next on the same cluster; both
// processes start afresh for every measurement.
func BenchmarkNodeScale(b *testing.B) {
	sc := startScaleCluster(b)
	for _, n := range populations(b) {
		b.Run(fmt.Sprintf("objects=%d", n), func(b *testing.B) {
			sc.grow(b, n)
			for _, cache := range nodeCaches {
				b.Run("cache="+cache.name, func(b *testing.B) {
					for i := 0; b.Loop(); i++ {
						sc.measure(b, n, cache, i)
					}
				})
			}
		})
	}
}

func startScaleCluster(b *testing.B) *scaleCluster {
	b.Helper()
	testpool.RequireNodeTools(b)
	root, err := controlplane.RepoRoot()
	if err != nil {
		b.Fatal(err)
	}
	scheme, err := app.Scheme()
	if err != nil {
		b.Fatal(err)
	}
	cp := controlplane.StartForTest(b, controlplane.Options{
		Scheme:            scheme,
		Nodes:             []controlplane.NodeSpec{{Name: measuredNode, Zone: "zone-a", Region: "region-1"}},
		AllocateNodeCIDRs: ptr.To(false),
		CRDDirectoryPaths: []string{filepath.Join(root, "config", "crd", "snapshot"), filepath.Join(root, "config", "crd", "bases")},
		// kube-controller-manager binds the population's claims and PVs.
		ControllerManagerAPI: controlplane.TunedClientLimits,
	})
	cfg := rest.CopyConfig(cp.Config)
	cfg.QPS, cfg.Burst = creatorQPS, 2*creatorQPS
	creator, err := client.New(cfg, client.Options{Scheme: scheme})
	if err != nil {
		b.Fatalf("failed to create the creator's client: %v", err)
	}
	sc := &scaleCluster{cp: cp, creator: creator, binDir: buildBinaries(b), logDir: filepath.Join(cp.Dir, "logs")}
	sc.install(b)
	sc.nodeNet, sc.nodeCfg = startProxy(b, cp.Config, "plinth-node")
	sc.ctrlNet, sc.ctrlCfg = startProxy(b, cp.Config, "plinth-controller")
	sc.poolDir = filepath.Join(testpool.Mount(b, testpool.XFS, 1<<30), "pool")
	sc.kubelet = b.TempDir()
	return sc
}

// install creates the other 999 Nodes, Plinth's namespace, CSIDriver and
// classes, and the population's namespace.
func (sc *scaleCluster) install(b *testing.B) {
	b.Helper()
	ctx := b.Context()
	if err := storagenode.InstallDriver(ctx, sc.cp); err != nil {
		b.Fatal(err)
	}
	others := make([]string, nodes-1)
	for i := range others {
		others[i] = fmt.Sprintf("node-%04d", i+1)
	}
	began := time.Now()
	sc.parallel(b, len(others), func(ctx context.Context, i int) error {
		return sc.creator.Create(ctx, &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: others[i], Labels: map[string]string{
			corev1.LabelHostname: others[i], wellknown.TopologyKeyNode: others[i],
		}}})
	})
	b.Logf("created %d Nodes in %s", len(others), time.Since(began).Round(time.Millisecond))
	for i := range storageClasses {
		sc.createObject(b, &storagev1.StorageClass{
			ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("scale-%d", i)}, Provisioner: wellknown.DriverName,
			VolumeBindingMode: ptr.To(storagev1.VolumeBindingWaitForFirstConsumer),
		})
	}
	sc.createObject(b, &snapshotv1.VolumeSnapshotClass{
		ObjectMeta: metav1.ObjectMeta{Name: "scale-snapshots"}, Driver: wellknown.DriverName,
		DeletionPolicy: snapshotv1.VolumeSnapshotContentDelete,
	})
	if err := sc.cp.CreateNamespace(ctx, "population"); err != nil {
		b.Fatal(err)
	}
	sc.pop = &population{cl: sc.creator, namespace: "population", class: "scale-0", snapClass: "scale-snapshots", nodes: others}
}

func (sc *scaleCluster) createObject(b *testing.B, obj client.Object) {
	b.Helper()
	if err := sc.creator.Create(b.Context(), obj); err != nil {
		b.Fatalf("failed to create %s: %v", obj.GetName(), err)
	}
}

// parallel runs do for 0..n-1 on creatorWorkers goroutines.
func (sc *scaleCluster) parallel(b *testing.B, n int, do func(ctx context.Context, i int) error) {
	b.Helper()
	next := make(chan int)
	var wg sync.WaitGroup
	for range creatorWorkers {
		wg.Go(func() {
			for i := range next {
				if err := do(b.Context(), i); err != nil {
					b.Error(err)
				}
			}
		})
	}
	for i := range n {
		next <- i
	}
	close(next)
	wg.Wait()
	if b.Failed() {
		b.FailNow()
	}
}

// grow brings the population to n objects and waits until
// kube-controller-manager has bound all its claims.
func (sc *scaleCluster) grow(b *testing.B, n int) {
	b.Helper()
	began := time.Now()
	created := sc.pop.growTo(b, n, creatorWorkers)
	if b.Failed() {
		b.FailNow()
	}
	took := time.Since(began)
	sc.waitBound(b, sc.pop.namespace, sc.pop.claims, 10*time.Minute)
	b.Logf("population of %d: created %d objects in %s (%.0f/s), all bound after %s", n, created,
		took.Round(time.Millisecond), float64(created)/took.Seconds(), time.Since(began).Round(time.Millisecond))
}

// waitBound waits until want claims of ns are Bound.
func (sc *scaleCluster) waitBound(b *testing.B, ns string, want int, timeout time.Duration) {
	b.Helper()
	bound := 0
	err := wait.PollUntilContextTimeout(b.Context(), time.Second, timeout, true, func(ctx context.Context) (bool, error) {
		claims := &corev1.PersistentVolumeClaimList{}
		if err := sc.creator.List(ctx, claims, client.InNamespace(ns)); err != nil {
			return false, err
		}
		bound = 0
		for _, c := range claims.Items {
			if c.Status.Phase == corev1.ClaimBound {
				bound++
			}
		}
		return bound >= want, nil
	})
	if err != nil {
		b.Fatalf("only %d of %d claims of %s bound: %v", bound, want, ns, err)
	}
}
