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

package e2e

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	snapshotv1 "github.com/kubernetes-csi/external-snapshotter/client/v8/apis/volumesnapshot/v1"
	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/plinth-dev/plinth/controllers/cluster/snapshot"
	"github.com/plinth-dev/plinth/test/storagenode"
)

const burst = 200

// startBenchCluster starts three storage nodes with pools large enough for
// the whole burst (volumes are sparse files: creating them writes nothing).
func startBenchCluster(b *testing.B) *storageCluster {
	b.Helper()
	return startStorageClusterSized(b, map[string]int64{"node-1": 64 * gib, "node-2": 64 * gib, "node-3": 64 * gib},
		storagenode.Options{Workers: 16})
}

// BenchmarkProvisionBurst creates 200 WaitForFirstConsumer claims with a pod
// each at once and measures, per claim, the time from its creation until it
// is Bound (scheduler, provisioner and PV controller together).
func BenchmarkProvisionBurst(b *testing.B) {
	sc := startBenchCluster(b)
	class := sc.createClass(b, "plinth-bench", "WaitForFirstConsumer", nil)
	sc.waitForCapacities(b, class)
	for i := 0; b.Loop(); i++ {
		ns := sc.namespace(b, fmt.Sprintf("burst-%d", i))
		stages := sc.measure(b, ns, func(j int) []client.Object {
			name := fmt.Sprintf("data-%03d", j)
			return []client.Object{claim(ns, name, class, "64Mi"), pod(ns, name, name)}
		}, []stage{{"pv", claimHasPV}, {"bound", claimBound}})
		report(b, stages[0], "pvs/s")
		report(b, stages[1], "pvcs/s")
	}
}

// BenchmarkSnapshotBurst takes 200 snapshots of 20 claims at once and
// measures, per snapshot, the time from its creation until it is ready.
func BenchmarkSnapshotBurst(b *testing.B) {
	sc := startBenchCluster(b)
	sc.startPlinthController(b)
	class := sc.createClass(b, "plinth-bench", "WaitForFirstConsumer", nil)
	sc.waitForCapacities(b, class)
	sc.create(b, snapshotClass("plinth-snapshots", snapshotv1.VolumeSnapshotContentDelete, true))
	for i := 0; b.Loop(); i++ {
		ns := sc.namespace(b, fmt.Sprintf("snapshots-%d", i))
		const sources = 20
		for j := range sources {
			name := fmt.Sprintf("src-%02d", j)
			sc.create(b, claim(ns, name, class, "64Mi"), pod(ns, name, name))
		}
		for j := range sources {
			sc.waitBound(b, ns, fmt.Sprintf("src-%02d", j))
		}
		stages := sc.measure(b, ns, func(j int) []client.Object {
			return []client.Object{&snapshotv1.VolumeSnapshot{
				ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: fmt.Sprintf("snap-%03d", j)},
				Spec: snapshotv1.VolumeSnapshotSpec{Source: snapshotv1.VolumeSnapshotSource{
					PersistentVolumeClaimName: ptr.To(fmt.Sprintf("src-%02d", j%sources)),
				}},
			}}
		}, []stage{{"ready", snapshotReady}})
		report(b, stages[0], "snapshots/s")
	}
}

// done says, for the first object of each burst item, whether it has
// reached a stage.
type done func(ctx context.Context, cl client.Client, ns string) (map[string]bool, error)

// stage is one milestone whose latency a burst measures.
type stage struct {
	name string
	done done
}

// result is the latency of every item to one stage, and the time from the
// start of the burst until the last item reached it.
type result struct {
	stage     string
	latencies []time.Duration
	total     time.Duration
}

// claimHasPV says which claims have their PV, the end of Plinth's part
// (kube-controller-manager then binds them).
func claimHasPV(ctx context.Context, cl client.Client, ns string) (map[string]bool, error) {
	pvs := &corev1.PersistentVolumeList{}
	if err := cl.List(ctx, pvs); err != nil {
		return nil, err
	}
	ready := map[string]bool{}
	for _, pv := range pvs.Items {
		if ref := pv.Spec.ClaimRef; ref != nil && ref.Namespace == ns {
			ready[ref.Name] = true
		}
	}
	return ready, nil
}

func claimBound(ctx context.Context, cl client.Client, ns string) (map[string]bool, error) {
	list := &corev1.PersistentVolumeClaimList{}
	if err := cl.List(ctx, list, client.InNamespace(ns)); err != nil {
		return nil, err
	}
	ready := map[string]bool{}
	for _, pvc := range list.Items {
		ready[pvc.Name] = pvc.Status.Phase == corev1.ClaimBound
	}
	return ready, nil
}

func snapshotReady(ctx context.Context, cl client.Client, ns string) (map[string]bool, error) {
	list := &snapshotv1.VolumeSnapshotList{}
	if err := cl.List(ctx, list, client.InNamespace(ns)); err != nil {
		return nil, err
	}
	ready := map[string]bool{}
	for i := range list.Items {
		ready[list.Items[i].Name] = snapshot.IsReady(&list.Items[i])
	}
	return ready, nil
}

// measure creates the burst's objects concurrently, then polls every 20 ms
// until all items reached every stage, and returns per stage each item's
// latency (creation to the poll that saw it there, so at most 20 ms late)
// and the time the whole burst took to get there.
func (sc *storageCluster) measure(b *testing.B, ns string, objects func(i int) []client.Object, stages []stage) []result {
	b.Helper()
	began := time.Now()
	created := sc.createBurst(b, objects)
	results := make([]result, len(stages))
	seen := make([]map[string]time.Duration, len(stages))
	for i := range stages {
		results[i].stage, seen[i] = stages[i].name, map[string]time.Duration{}
	}
	deadline := time.Now().Add(10 * time.Minute)
	for !allSeen(seen) && time.Now().Before(deadline) {
		for i, st := range stages {
			sc.observe(b, ns, st, created, seen[i], &results[i], began)
		}
		time.Sleep(20 * time.Millisecond) // the sampling period of the measurement
	}
	for i := range results {
		if len(seen[i]) < burst {
			b.Fatalf("only %d of %d reached %s after 10 minutes", len(seen[i]), burst, stages[i].name)
		}
		for _, d := range seen[i] {
			results[i].latencies = append(results[i].latencies, d)
		}
	}
	return results
}

// createBurst creates every item's objects concurrently and returns when
// each item's first object was created.
func (sc *storageCluster) createBurst(b *testing.B, objects func(i int) []client.Object) map[string]time.Time {
	created := make(map[string]time.Time, burst)
	var mu sync.Mutex
	var wg sync.WaitGroup
	for i := range burst {
		wg.Go(func() {
			objs := objects(i)
			for _, obj := range objs {
				if err := sc.cp.Client.Create(context.Background(), obj); err != nil {
					b.Errorf("failed to create %s: %v", obj.GetName(), err)
				}
			}
			mu.Lock()
			created[objs[0].GetName()] = time.Now()
			mu.Unlock()
		})
	}
	wg.Wait()
	return created
}

// observe records the items that newly reached a stage.
func (sc *storageCluster) observe(b *testing.B, ns string, st stage, created map[string]time.Time, seen map[string]time.Duration, r *result, began time.Time) {
	if len(seen) == burst {
		return
	}
	ready, err := st.done(context.Background(), sc.cp.Client, ns)
	if err != nil {
		b.Fatal(err)
	}
	now := time.Now()
	for name, ok := range ready {
		if _, dup := seen[name]; ok && !dup {
			seen[name] = now.Sub(created[name])
		}
	}
	if len(seen) == burst {
		r.total = now.Sub(began)
	}
}

func allSeen(seen []map[string]time.Duration) bool {
	for _, s := range seen {
		if len(s) < burst {
			return false
		}
	}
	return true
}

// report reports a stage's p50 and p99 latency and its rate over the burst.
func report(b *testing.B, r result, rateUnit string) {
	slices.Sort(r.latencies)
	pct := func(p float64) float64 {
		return float64(r.latencies[int(p*float64(len(r.latencies)-1))].Milliseconds())
	}
	b.ReportMetric(pct(0.50), r.stage+"-p50-ms")
	b.ReportMetric(pct(0.99), r.stage+"-p99-ms")
	b.ReportMetric(float64(len(r.latencies))/r.total.Seconds(), rateUnit)
}

// BenchmarkBindingCeiling measures kube-controller-manager's PV controller
// alone, the stage that follows Plinth's in BenchmarkProvisionBurst: 200
// claims exist, then 200 PVs pre-bound to them (as a provisioner creates
// them) appear at once, and each claim is timed from its PV's creation to
// Bound. No Plinth component takes part, so this is the ceiling of the
// PVCs/s any external provisioner reaches on this machine.
func BenchmarkBindingCeiling(b *testing.B) {
	sc := startStorageClusterSized(b, map[string]int64{}, storagenode.Options{})
	const class = "static-bench"
	sc.create(b, &storagev1.StorageClass{ObjectMeta: metav1.ObjectMeta{Name: class}, Provisioner: "kubernetes.io/no-provisioner"})
	for i := 0; b.Loop(); i++ {
		ns := sc.namespace(b, fmt.Sprintf("binding-%d", i))
		claims := make([]*corev1.PersistentVolumeClaim, burst)
		for j := range burst {
			claims[j] = claim(ns, fmt.Sprintf("%s-%03d", ns, j), class, "64Mi")
			sc.create(b, claims[j])
		}
		stages := sc.measure(b, ns, func(j int) []client.Object {
			return []client.Object{preBoundPV(claims[j])}
		}, []stage{{"bound", claimBound}})
		report(b, stages[0], "pvcs/s")
	}
}

// preBoundPV is a PV pre-bound to c, as a provisioner creates it.
func preBoundPV(c *corev1.PersistentVolumeClaim) *corev1.PersistentVolume {
	return &corev1.PersistentVolume{
		ObjectMeta: metav1.ObjectMeta{Name: c.Name},
		Spec: corev1.PersistentVolumeSpec{
			Capacity:                      c.Spec.Resources.Requests,
			AccessModes:                   c.Spec.AccessModes,
			StorageClassName:              *c.Spec.StorageClassName,
			PersistentVolumeReclaimPolicy: corev1.PersistentVolumeReclaimRetain,
			ClaimRef:                      &corev1.ObjectReference{Kind: "PersistentVolumeClaim", Namespace: c.Namespace, Name: c.Name, UID: c.UID},
			PersistentVolumeSource:        corev1.PersistentVolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: "/tmp/" + c.Name}},
		},
	}
}
