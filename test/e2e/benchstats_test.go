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
	"bytes"
	"cmp"
	"context"
	"fmt"
	"maps"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/plinth-dev/plinth/test/controlplane"
)

// requestKind is one series of kube-apiserver's apiserver_request_total.
type requestKind struct {
	verb, resource, subresource, code string
}

// isWrite reports whether a request changes state in etcd.
func (k requestKind) isWrite() bool {
	switch k.verb {
	case "POST", "PUT", "PATCH", "DELETE", "DELETECOLLECTION", "APPLY":
		return true
	}
	return false
}

// isConflict reports whether a request failed its optimistic lock: a 409 on
// an update (a 409 on a create is AlreadyExists, counted with the writes).
func (k requestKind) isConflict() bool {
	return k.code == "409" && k.verb != "POST"
}

func (k requestKind) target() string {
	if k.subresource != "" {
		return k.resource + "/" + k.subresource
	}
	return k.resource
}

// requestCounts are kube-apiserver's request counters at one moment.
type requestCounts map[requestKind]float64

// requestCounts reads kube-apiserver's request counters from its /metrics.
func (sc *storageCluster) requestCounts(b *testing.B) requestCounts {
	b.Helper()
	raw, err := sc.cp.Clientset.CoreV1().RESTClient().Get().AbsPath("/metrics").DoRaw(context.Background())
	if err != nil {
		b.Fatalf("failed to read kube-apiserver's metrics: %v", err)
	}
	metrics, err := controlplane.ParseMetrics(bytes.NewReader(raw))
	if err != nil {
		b.Fatalf("kube-apiserver's metrics: %v", err)
	}
	counts := requestCounts{}
	for _, x := range metrics["apiserver_request_total"] {
		l := x.Labels
		counts[requestKind{l["verb"], l["resource"], l["subresource"], l["code"]}] += x.Value
	}
	return counts
}

// since returns the requests made after before.
func (c requestCounts) since(before requestCounts) requestCounts {
	delta := requestCounts{}
	for k, v := range c {
		if d := v - before[k]; d > 0 {
			delta[k] = d
		}
	}
	return delta
}

// writes and conflicts count the delta's writes and failed optimistic locks.
func (c requestCounts) writes() (writes, conflicts float64) {
	for k, v := range c {
		if k.isWrite() {
			writes += v
		}
		if k.isConflict() {
			conflicts += v
		}
	}
	return writes, conflicts
}

// breakdown lists the writes per object by verb and resource on one line,
// largest first, with their failures by status code.
func (c requestCounts) breakdown(objects int) string {
	type row struct {
		what     string
		n        float64
		failures map[string]float64
	}
	rows := map[string]*row{}
	for k, v := range c {
		if !k.isWrite() {
			continue
		}
		what := k.verb + " " + k.target()
		r := rows[what]
		if r == nil {
			r = &row{what: what, failures: map[string]float64{}}
			rows[what] = r
		}
		r.n += v
		if !strings.HasPrefix(k.code, "2") {
			r.failures[k.code] += v
		}
	}
	sorted := make([]*row, 0, len(rows))
	for _, r := range rows {
		sorted = append(sorted, r)
	}
	slices.SortFunc(sorted, func(a, b *row) int {
		return cmp.Or(cmp.Compare(b.n, a.n), cmp.Compare(a.what, b.what))
	})
	var sb strings.Builder
	for _, r := range sorted {
		if sb.Len() > 0 {
			sb.WriteString(", ")
		}
		fmt.Fprintf(&sb, "%s %.2f", r.what, r.n/float64(objects))
		for _, code := range slices.Sorted(maps.Keys(r.failures)) {
			fmt.Fprintf(&sb, " (%s: %.2f)", code, r.failures[code]/float64(objects))
		}
	}
	return sb.String()
}

// cpuTimes are the CPU seconds each process has used, by name; the test
// process (the harness and the in-process plinth-node and plinth-controller
// or CSI drivers) is "test-process".
type cpuTimes map[string]float64

// cpuTimes reads the CPU time of the control plane's processes and of this one.
func (sc *storageCluster) cpuTimes(b *testing.B) cpuTimes {
	b.Helper()
	times := cpuTimes{}
	pids := sc.cp.PIDs()
	pids["test-process"] = os.Getpid()
	for name, pid := range pids {
		seconds, err := controlplane.CPUSeconds(pid)
		if err != nil {
			b.Logf("no CPU time of %s: %v", name, err)
			continue
		}
		times[name] = seconds
	}
	return times
}

// since lists the CPU seconds each process used after before, largest
// first. Processes of the same kind (the sidecars of every node) are added
// up under their common name.
func (c cpuTimes) since(before cpuTimes) string {
	sums := map[string]float64{}
	for name, v := range c {
		sums[kindOf(name)] += v - before[name]
	}
	names := slices.Collect(maps.Keys(sums))
	slices.SortFunc(names, func(a, b string) int { return cmp.Compare(sums[b], sums[a]) })
	parts := make([]string, 0, len(names))
	for _, name := range names {
		parts = append(parts, fmt.Sprintf("%s %.1f", name, sums[name]))
	}
	return strings.Join(parts, ", ")
}

// kindOf strips the node from a per-node process name, "csi-provisioner-node-1".
func kindOf(name string) string {
	if i := strings.Index(name, "-node-"); i > 0 {
		return name[:i]
	}
	return name
}
