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
	"testing"
	"time"

	storagev1 "k8s.io/api/storage/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/plinth-dev/plinth/internal/wellknown"
	"github.com/plinth-dev/plinth/test/storagenode"
)

// component is one measured process and the proxy its requests go through.
type component struct {
	short string
	proc  *process
	net   *countingProxy
	start trafficCounts
	cpu   float64
}

// measure starts plinth-node and plinth-controller, waits until their
// caches synced, reports their memory and what the sync cost, then runs a
// burst on other nodes and reports what reached them.
func (sc *scaleCluster) measure(b *testing.B, n int, cache nodeCache, iteration int) {
	b.Helper()
	node, ctrl := sc.startNode(b, cache), sc.startController(b)
	components := []*component{node, ctrl}
	began := time.Now()
	sc.waitSynced(b, components)
	b.Logf("objects=%d: both synced %s after start", n, time.Since(began).Round(time.Millisecond))
	for _, c := range components {
		sc.reportMemory(b, c)
	}
	sc.burst(b, fmt.Sprintf("burst-%d-%s-%d", n, cache.name, iteration), components)
	for _, c := range components {
		c.proc.stop(b)
	}
}

func (sc *scaleCluster) startNode(b *testing.B, cache nodeCache) *component {
	b.Helper()
	// Unix socket paths are limited to 108 bytes.
	sockDir, err := os.MkdirTemp("", "plinth-scale-")
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = os.RemoveAll(sockDir) })
	// The node publishes its capacities again once its caches synced.
	err = sc.creator.DeleteAllOf(b.Context(), &storagev1.CSIStorageCapacity{}, client.InNamespace(storagenode.Namespace),
		client.MatchingLabels{wellknown.LabelCapacityManagedBy: wellknown.CapacityManagedBy(measuredNode)})
	if err != nil {
		b.Fatalf("failed to delete the node's capacities: %v", err)
	}
	c := &component{short: "node", net: sc.nodeNet, start: sc.nodeNet.snapshot()}
	args := append([]string{
		"--node-name=" + measuredNode, "--csi-endpoint=unix://" + filepath.Join(sockDir, "csi.sock"),
		"--kubelet-registry-dir=", "--pool-dir=" + sc.poolDir, "--kubelet-dir=" + sc.kubelet,
		"--network=false", "--csi-metrics-bind-address=0", "--namespace=" + storagenode.Namespace,
	}, cache.flags...)
	c.proc = startProcess(b, "plinth-node", filepath.Join(sc.binDir, "plinth-node"), sc.nodeCfg, sc.logDir, args...)
	return c
}

func (sc *scaleCluster) startController(b *testing.B) *component {
	b.Helper()
	c := &component{short: "controller", net: sc.ctrlNet, start: sc.ctrlNet.snapshot()}
	c.proc = startProcess(b, "plinth-controller", filepath.Join(sc.binDir, "plinth-controller"), sc.ctrlCfg, sc.logDir,
		"--leader-elect=false", "--namespace="+storagenode.Namespace)
	return c
}

// Settling: a process has synced when plinth-node published its capacity
// (its controllers run only once their caches synced) and, for both, the
// bytes they receive and their resident memory stay flat for settleRounds
// polls a second apart (the measured node's heartbeat keeps a trickle).
const (
	settleRounds = 3
	settleBytes  = 64 << 10
	settleRSS    = 0.01
)

// waitSynced waits until every component settled after its start.
func (sc *scaleCluster) waitSynced(b *testing.B, components []*component) {
	b.Helper()
	type last struct {
		bytes  int64
		rss    float64
		stable int
	}
	seen := make([]last, len(components))
	err := wait.PollUntilContextTimeout(b.Context(), time.Second, 5*time.Minute, false, func(ctx context.Context) (bool, error) {
		if ok, err := sc.capacityPublished(ctx); !ok || err != nil {
			return false, err
		}
		settled := true
		for i, c := range components {
			if err := c.proc.exited(); err != nil {
				return false, err
			}
			rss, err := c.proc.rssBytes()
			if err != nil {
				return false, err
			}
			bytes := c.net.bytes.Load()
			s := &seen[i]
			if bytes-s.bytes < settleBytes && rss <= s.rss*(1+settleRSS) && rss >= s.rss*(1-settleRSS) {
				s.stable++
			} else {
				s.stable = 0
			}
			s.bytes, s.rss = bytes, rss
			settled = settled && s.stable >= settleRounds
		}
		return settled, nil
	})
	if err != nil {
		b.Fatalf("plinth-node and plinth-controller did not settle: %v", err)
	}
}

// capacityPublished reports whether the measured node published the
// capacity of every Plinth StorageClass.
func (sc *scaleCluster) capacityPublished(ctx context.Context) (bool, error) {
	list := &storagev1.CSIStorageCapacityList{}
	err := sc.creator.List(ctx, list, client.InNamespace(storagenode.Namespace),
		client.MatchingLabels{wellknown.LabelCapacityManagedBy: wellknown.CapacityManagedBy(measuredNode)})
	if err != nil {
		return false, fmt.Errorf("failed to list capacities: %w", err)
	}
	return len(list.Items) >= storageClasses, nil
}

// reportMemory reports a synced component's resident memory and Go heap
// and the requests and bytes its start took.
func (sc *scaleCluster) reportMemory(b *testing.B, c *component) {
	b.Helper()
	rss, err := c.proc.rssBytes()
	if err != nil {
		b.Fatal(err)
	}
	heap, err := c.proc.metric(b.Context(), "go_memstats_heap_inuse_bytes")
	if err != nil {
		b.Fatal(err)
	}
	if c.cpu, err = c.proc.cpuSeconds(); err != nil {
		b.Fatal(err)
	}
	sync := c.net.snapshot().since(c.start)
	b.ReportMetric(rss/(1<<20), c.short+"-rss-MiB")
	b.ReportMetric(heap/(1<<20), c.short+"-heap-MiB")
	b.Logf("%s synced: RSS %.1f MiB, heap in use %.1f MiB, start took %d requests, %d watches, %d watch events, %.1f MiB received, %.1f CPU s",
		c.proc.name, rss/(1<<20), heap/(1<<20), sync.requests, sync.watches, sync.events, float64(sync.bytes)/(1<<20), c.cpu)
}

// burst creates burstObjects on other nodes in a namespace of its own,
// waits until kube-controller-manager bound its claims and every watch
// went quiet, and reports per component the watch events and bytes it
// received per second of the burst, and the API requests and CPU seconds
// the burst cost it.
func (sc *scaleCluster) burst(b *testing.B, ns string, components []*component) {
	b.Helper()
	if err := sc.cp.CreateNamespace(b.Context(), ns); err != nil {
		b.Fatal(err)
	}
	before := make([]trafficCounts, len(components))
	for i, c := range components {
		before[i] = c.net.snapshot()
		cpu, err := c.proc.cpuSeconds()
		if err != nil {
			b.Fatal(err)
		}
		c.cpu = cpu
	}
	began := time.Now()
	burst := &population{cl: sc.creator, namespace: ns, class: sc.pop.class, snapClass: sc.pop.snapClass, nodes: sc.pop.nodes}
	burst.growTo(b, burstObjects, creatorWorkers)
	sc.waitBound(b, ns, burst.claims, 2*time.Minute)
	window := sc.waitQuiet(b, components, began)
	for i, c := range components {
		sc.reportBurst(b, c, c.net.snapshot().since(before[i]), window)
	}
}

// waitQuiet waits until no component received a watch event for a second
// and returns the time from began to the last event.
func (sc *scaleCluster) waitQuiet(b *testing.B, components []*component, began time.Time) time.Duration {
	b.Helper()
	last, lastChange := int64(-1), time.Now()
	err := wait.PollUntilContextTimeout(b.Context(), 100*time.Millisecond, 2*time.Minute, true, func(context.Context) (bool, error) {
		var events int64
		for _, c := range components {
			events += c.net.events.Load()
		}
		if events != last {
			last, lastChange = events, time.Now()
		}
		return time.Since(lastChange) >= time.Second, nil
	})
	if err != nil {
		b.Logf("watches kept receiving events for two minutes: counting until now")
	}
	return lastChange.Sub(began)
}

func (sc *scaleCluster) reportBurst(b *testing.B, c *component, t trafficCounts, window time.Duration) {
	b.Helper()
	cpu, err := c.proc.cpuSeconds()
	if err != nil {
		b.Fatal(err)
	}
	seconds := window.Seconds()
	b.ReportMetric(float64(t.events)/seconds, c.short+"-events/s")
	b.ReportMetric(float64(t.events)/burstObjects, c.short+"-events/obj")
	b.ReportMetric(float64(t.bytes)/seconds/1024, c.short+"-KiB/s")
	b.ReportMetric(float64(t.requests)/seconds, c.short+"-requests/s")
	b.ReportMetric(cpu-c.cpu, c.short+"-burst-cpu-s")
	b.Logf("%s during a burst of %d objects on other nodes (%.1f s): %d watch events, %.1f KiB, %d requests (%d writes), %.2f CPU s",
		c.proc.name, burstObjects, seconds, t.events, float64(t.bytes)/1024, t.requests, t.writes, cpu-c.cpu)
}
