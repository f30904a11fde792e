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

package controlplane_test

import (
	"context"
	"testing"
	"time"

	"github.com/plinth-dev/plinth/test/controlplane"
	"github.com/plinth-dev/plinth/test/prereq"
)

// BenchmarkStartThreeNodes measures how long a test waits for a control
// plane with three Ready nodes that have pod CIDRs, and how long it takes to
// stop it again.
func BenchmarkStartThreeNodes(b *testing.B) {
	_, err := controlplane.FindBinDir("")
	prereq.Require(b, err == nil, "control-plane binaries: %v", err)
	nodes := []controlplane.NodeSpec{{Name: "node-1", Zone: "zone-a"}, {Name: "node-2", Zone: "zone-a"}, {Name: "node-3", Zone: "zone-b"}}
	var ready, stop time.Duration
	for b.Loop() {
		began := time.Now()
		cp, err := controlplane.Start(context.Background(), controlplane.Options{Nodes: nodes})
		if err != nil {
			b.Fatal(err)
		}
		if err := cp.WaitForNodesReady(context.Background(), time.Minute); err != nil {
			b.Fatal(err)
		}
		ready += time.Since(began)
		began = time.Now()
		if err := cp.Stop(); err != nil {
			b.Fatal(err)
		}
		stop += time.Since(began)
	}
	b.ReportMetric(float64(ready.Milliseconds())/float64(b.N), "ms-to-ready/op")
	b.ReportMetric(float64(stop.Milliseconds())/float64(b.N), "ms-to-stop/op")
}
