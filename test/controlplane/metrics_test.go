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
	"strings"
	"testing"

	"github.com/plinth-dev/plinth/test/controlplane"
)

func TestParseMetricsReadsEverySampleWithItsLabels(t *testing.T) {
	body := `# HELP apiserver_request_total Counter of apiserver requests.
# TYPE apiserver_request_total counter
apiserver_request_total{code="201",resource="pods",verb="POST"} 3
apiserver_request_total{code="409",resource="pods",subresource="status",verb="PATCH"} 2
# TYPE go_memstats_heap_inuse_bytes gauge
go_memstats_heap_inuse_bytes 1.5e+06
`
	got, err := controlplane.ParseMetrics(strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	requests := got["apiserver_request_total"]
	if len(requests) != 2 || requests.Sum() != 5 {
		t.Fatalf("apiserver_request_total = %+v, want 2 samples adding up to 5", requests)
	}
	for _, s := range requests {
		if s.Labels["code"] == "409" && (s.Labels["subresource"] != "status" || s.Value != 2) {
			t.Errorf("the conflict sample is %+v", s)
		}
	}
	if heap := got["go_memstats_heap_inuse_bytes"].Sum(); heap != 1.5e6 {
		t.Errorf("heap = %v, want 1.5e6", heap)
	}
	if _, err := controlplane.ParseMetrics(strings.NewReader("not metrics {\n")); err == nil {
		t.Error("a malformed body parsed")
	}
}
