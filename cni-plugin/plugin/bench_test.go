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

package plugin_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/containernetworking/cni/pkg/invoke"
	"github.com/containernetworking/plugins/pkg/ns"

	"github.com/plinth-dev/plinth/test/netnstest"
)

// cniImpl is a plugin under benchmark: a binary and its network config.
type cniImpl struct {
	name string
	path string
	conf []byte
}

// BenchmarkAddDel measures ADD and DEL latency of the plinth-cni binary and
// of the reference bridge + host-local plugins, one pod at a time and 50 in
// parallel, executing the binaries as a runtime does. Each iteration
// attaches and detaches `parallel` pods; the reported p50/p99 are over all
// operations of the run.
func BenchmarkAddDel(b *testing.B) {
	n := newNode(b)
	n.ranges = []string{"10.244.0.0/16"}
	refDir := referencePlugins(b)
	impls := []cniImpl{
		{name: "plinth", path: pluginBinary(b), conf: n.conf("1.1.0", nil)},
		{name: "reference-bridge", path: filepath.Join(refDir, "bridge"), conf: referenceConf(b.TempDir())},
	}
	for _, parallel := range []int{1, 50} {
		pods := make([]ns.NetNS, parallel)
		for i := range pods {
			pods[i] = netnstest.NewNS(b)
		}
		for _, impl := range impls {
			b.Run(fmt.Sprintf("%s/parallel=%d", impl.name, parallel), func(b *testing.B) {
				var adds, dels []time.Duration
				for b.Loop() {
					a, d := attachDetach(b, n, impl, pods)
					adds, dels = append(adds, a...), append(dels, d...)
				}
				reportPercentiles(b, "add", adds)
				reportPercentiles(b, "del", dels)
			})
		}
	}
}

// attachDetach adds every pod concurrently, then deletes them concurrently,
// and returns the latency of each call.
func attachDetach(b *testing.B, n *node, impl cniImpl, pods []ns.NetNS) (adds, dels []time.Duration) {
	adds, dels = make([]time.Duration, len(pods)), make([]time.Duration, len(pods))
	for _, phase := range []struct {
		verb string
		out  []time.Duration
	}{{"ADD", adds}, {"DEL", dels}} {
		var wg sync.WaitGroup
		errs := make([]error, len(pods))
		for i, pod := range pods {
			wg.Go(func() { phase.out[i], errs[i] = execTimed(n, impl, phase.verb, fmt.Sprint("bench", i), pod) })
		}
		wg.Wait()
		for _, err := range errs {
			if err != nil {
				b.Fatalf("%s %s: %v", impl.name, phase.verb, err)
			}
		}
	}
	return adds, dels
}

func execTimed(n *node, impl cniImpl, verb, cid string, pod ns.NetNS) (time.Duration, error) {
	args := &invoke.Args{Command: verb, ContainerID: cid, NetNS: pod.Path(), IfName: "eth0", Path: filepath.Dir(impl.path)}
	var elapsed time.Duration
	err := n.hostNS.Do(func(ns.NetNS) error {
		start := time.Now()
		var err error
		if verb == "ADD" {
			_, err = invoke.ExecPluginWithResult(context.Background(), impl.path, impl.conf, args, nil)
		} else {
			err = invoke.ExecPluginWithoutResult(context.Background(), impl.path, impl.conf, args, nil)
		}
		elapsed = time.Since(start)
		return err
	})
	return elapsed, err
}

func reportPercentiles(b *testing.B, name string, samples []time.Duration) {
	slices.Sort(samples)
	at := func(q float64) float64 {
		return float64(samples[int(q*float64(len(samples)-1))].Microseconds()) / 1000
	}
	b.ReportMetric(at(0.50), name+"-p50-ms")
	b.ReportMetric(at(0.99), name+"-p99-ms")
}

// referencePlugins builds bridge and host-local from the containernetworking
// plugins module in its own module context (its go.sum, not ours), so the
// product never depends on them.
func referencePlugins(b *testing.B) string {
	b.Helper()
	modDir, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "github.com/containernetworking/plugins").Output()
	if err != nil {
		b.Fatalf("failed to locate the plugins module: %v", err)
	}
	out := b.TempDir()
	build := exec.Command("go", "build", "-o", out+"/", "./plugins/main/bridge", "./plugins/ipam/host-local")
	build.Dir = strings.TrimSpace(string(modDir))
	build.Env = append(os.Environ(), "GOFLAGS=-mod=mod")
	if msg, err := build.CombinedOutput(); err != nil {
		b.Fatalf("failed to build reference plugins: %v: %s", err, msg)
	}
	return out
}

func referenceConf(dataDir string) []byte {
	return fmt.Appendf(nil, `{"cniVersion":"1.1.0","name":"ref","type":"bridge","bridge":"cni0","isGateway":true,
"mtu":1400,"ipam":{"type":"host-local","ranges":[[{"subnet":"10.245.0.0/16"}]],"dataDir":%q}}`, dataDir)
}
