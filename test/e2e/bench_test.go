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
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/plinth-dev/plinth/controllers/snapshot"
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
		latencies, total := sc.measure(b, ns, func(j int) []client.Object {
			name := fmt.Sprintf("data-%03d", j)
			return []client.Object{claim(ns, name, class, "64Mi"), pod(ns, name, name)}
		}, claimBound)
		report(b, latencies, total, "pvcs/s")
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
		latencies, total := sc.measure(b, ns, func(j int) []client.Object {
			return []client.Object{&snapshotv1.VolumeSnapshot{
				ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: fmt.Sprintf("snap-%03d", j)},
				Spec: snapshotv1.VolumeSnapshotSpec{Source: snapshotv1.VolumeSnapshotSource{
					PersistentVolumeClaimName: ptr.To(fmt.Sprintf("src-%02d", j%sources)),
				}},
			}}
		}, snapshotReady)
		report(b, latencies, total, "snapshots/s")
	}
}

// done says whether the first object of a burst item has reached its goal,
// and its name.
type done func(ctx context.Context, cl client.Client, ns string) (map[string]bool, error)

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
// until all are ready, and returns each item's latency (creation to the poll
// that saw it ready, so at most 20 ms late) and the time the whole burst took.
func (sc *storageCluster) measure(b *testing.B, ns string, objects func(i int) []client.Object, isDone done) ([]time.Duration, time.Duration) {
	b.Helper()
	ctx := context.Background()
	created := make(map[string]time.Time, burst)
	var mu sync.Mutex
	began := time.Now()
	var wg sync.WaitGroup
	for i := range burst {
		wg.Go(func() {
			objs := objects(i)
			for _, obj := range objs {
				if err := sc.cp.Client.Create(ctx, obj); err != nil {
					b.Errorf("failed to create %s: %v", obj.GetName(), err)
				}
			}
			mu.Lock()
			created[objs[0].GetName()] = time.Now()
			mu.Unlock()
		})
	}
	wg.Wait()
	latencies := map[string]time.Duration{}
	deadline := time.Now().Add(10 * time.Minute)
	for len(latencies) < burst && time.Now().Before(deadline) {
		ready, err := isDone(ctx, sc.cp.Client, ns)
		if err != nil {
			b.Fatal(err)
		}
		now := time.Now()
		for name, ok := range ready {
			if _, seen := latencies[name]; ok && !seen {
				latencies[name] = now.Sub(created[name])
			}
		}
		time.Sleep(20 * time.Millisecond) // the sampling period of the measurement
	}
	if len(latencies) < burst {
		b.Fatalf("only %d of %d ready after 10 minutes", len(latencies), burst)
	}
	all := make([]time.Duration, 0, burst)
	for _, d := range latencies {
		all = append(all, d)
	}
	return all, time.Since(began)
}

func report(b *testing.B, latencies []time.Duration, total time.Duration, rateUnit string) {
	slices.Sort(latencies)
	pct := func(p float64) float64 { return float64(latencies[int(p*float64(len(latencies)-1))].Milliseconds()) }
	b.ReportMetric(pct(0.50), "p50-ms")
	b.ReportMetric(pct(0.99), "p99-ms")
	b.ReportMetric(float64(len(latencies))/total.Seconds(), rateUnit)
	b.ReportMetric(total.Seconds(), "burst-s")
}
