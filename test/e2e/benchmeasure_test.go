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
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	snapshotv1 "github.com/kubernetes-csi/external-snapshotter/client/v8/apis/volumesnapshot/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/plinth-dev/plinth/controllers/cluster/snapshot"
)

// done says, for the first object of each burst item, whether it has
// reached a stage.
type done func(ctx context.Context, cl client.Client, ns string) (map[string]bool, error)

// stage is one milestone whose latency a burst measures, and the unit of
// its rate.
type stage struct {
	name string
	done done
	unit string
}

// burstSpec is a burst of n items, each of the given objects created at
// once; the first names the item. Its metrics are named with prefix.
type burstSpec struct {
	prefix  string
	n       int
	objects func(i int) []client.Object
	stages  []stage
}

// result is the latency of every item to one stage, and the time from the
// start of the burst until the last item reached it.
type result struct {
	stage     string
	latencies []time.Duration
	total     time.Duration
}

// runBurst runs a burst and reports per stage p50 and p99 latency and the
// rate, and per item the API writes (besides the harness's own creates)
// and failed optimistic locks that the burst caused, counted until the
// cluster is quiet again. It logs the writes by verb and resource and the
// CPU time each process used.
func (sc *storageCluster) runBurst(b *testing.B, ns string, spec burstSpec) {
	b.Helper()
	requestsBefore, cpuBefore := sc.requestCounts(b), sc.cpuTimes(b)
	results, created := sc.measure(b, ns, spec)
	for i, r := range results {
		report(b, spec.prefix, r, spec.stages[i].unit)
	}
	requests := sc.quietRequests(b, requestsBefore)
	writes, conflicts := requests.writes()
	n := float64(spec.n)
	b.ReportMetric((writes-float64(created))/n, spec.prefix+"writes/obj")
	b.ReportMetric(conflicts/n, spec.prefix+"conflicts/obj")
	b.Logf("%sburst of %d: %.0f API writes, %d of them the harness's creates; per object: %s",
		spec.prefix, spec.n, writes, created, requests.breakdown(spec.n))
	b.Logf("%sburst of %d: CPU seconds from its start until the cluster was quiet: %s",
		spec.prefix, spec.n, sc.cpuTimes(b).since(cpuBefore))
}

// quietRequests waits (up to a minute) until a second passes with at most
// background writes (the simulated nodes' heartbeats), so that what a
// burst causes after its last item reached its last stage (status updates,
// events, finalizers released) is counted too, and returns the requests
// since before.
func (sc *storageCluster) quietRequests(b *testing.B, before requestCounts) requestCounts {
	b.Helper()
	const background = 3
	var last requestCounts
	var previous float64
	err := wait.PollUntilContextTimeout(context.Background(), time.Second, time.Minute, false, func(context.Context) (bool, error) {
		last = sc.requestCounts(b).since(before)
		writes, _ := last.writes()
		quiet := writes-previous <= background
		previous = writes
		return quiet, nil
	})
	if err != nil {
		b.Logf("the cluster kept writing for a minute after the burst: counting until now")
	}
	return last
}

// measure creates the burst's objects concurrently, then polls every 20 ms
// until all items reached every stage, and returns per stage each item's
// latency (creation to the poll that saw it there, so at most 20 ms late)
// and the time the whole burst took to get there, and the number of
// objects created.
func (sc *storageCluster) measure(b *testing.B, ns string, spec burstSpec) ([]result, int) {
	b.Helper()
	began := time.Now()
	created, objects := sc.createBurst(b, spec)
	results := make([]result, len(spec.stages))
	seen := make([]map[string]time.Duration, len(spec.stages))
	for i := range spec.stages {
		results[i].stage, seen[i] = spec.stages[i].name, map[string]time.Duration{}
	}
	deadline := time.Now().Add(10 * time.Minute)
	for !allSeen(seen, spec.n) && time.Now().Before(deadline) {
		for i, st := range spec.stages {
			sc.observe(b, ns, st, created, seen[i], &results[i], began)
		}
		time.Sleep(20 * time.Millisecond) // the sampling period of the measurement
	}
	for i := range results {
		if len(seen[i]) < spec.n {
			b.Fatalf("only %d of %d reached %s after 10 minutes", len(seen[i]), spec.n, spec.stages[i].name)
		}
		for _, d := range seen[i] {
			results[i].latencies = append(results[i].latencies, d)
		}
	}
	return results, objects
}

// createBurst creates every item's objects concurrently and returns when
// each item's first object was created, and how many objects it created.
func (sc *storageCluster) createBurst(b *testing.B, spec burstSpec) (map[string]time.Time, int) {
	created := make(map[string]time.Time, spec.n)
	var mu sync.Mutex
	var wg sync.WaitGroup
	var objects atomic.Int64
	for i := range spec.n {
		wg.Go(func() {
			objs := spec.objects(i)
			for _, obj := range objs {
				if err := sc.cp.Client.Create(context.Background(), obj); err != nil {
					b.Errorf("failed to create %s: %v", obj.GetName(), err)
				}
				objects.Add(1)
			}
			mu.Lock()
			created[objs[0].GetName()] = time.Now()
			mu.Unlock()
		})
	}
	wg.Wait()
	return created, int(objects.Load())
}

// observe records the items of this burst that newly reached a stage.
func (sc *storageCluster) observe(b *testing.B, ns string, st stage, created map[string]time.Time, seen map[string]time.Duration, r *result, began time.Time) {
	if len(seen) == len(created) {
		return
	}
	ready, err := st.done(context.Background(), sc.cp.Client, ns)
	if err != nil {
		b.Fatal(err)
	}
	now := time.Now()
	for name, ok := range ready {
		start, mine := created[name]
		if _, dup := seen[name]; ok && mine && !dup {
			seen[name] = now.Sub(start)
		}
	}
	if len(seen) == len(created) {
		r.total = now.Sub(began)
	}
}

func allSeen(seen []map[string]time.Duration, n int) bool {
	for _, s := range seen {
		if len(s) < n {
			return false
		}
	}
	return true
}

// report reports a stage's p50 and p99 latency and its rate over the burst.
func report(b *testing.B, prefix string, r result, rateUnit string) {
	slices.Sort(r.latencies)
	pct := func(p float64) float64 {
		return float64(r.latencies[int(p*float64(len(r.latencies)-1))].Milliseconds())
	}
	b.ReportMetric(pct(0.50), prefix+r.stage+"-p50-ms")
	b.ReportMetric(pct(0.99), prefix+r.stage+"-p99-ms")
	b.ReportMetric(float64(len(r.latencies))/r.total.Seconds(), prefix+rateUnit)
}

// claimHasPV says which claims have their PV, the end of the provisioner's
// part (kube-controller-manager then binds them).
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
