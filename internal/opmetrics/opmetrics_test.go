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

package opmetrics

import (
	"errors"
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil"
)

func TestStartCountsInFlightAndRecordsTheResult(t *testing.T) {
	done := Start(Expand)
	if got := testutil.ToFloat64(inFlight.WithLabelValues(Expand)); got != 1 {
		t.Errorf("in flight during the operation = %v, want 1", got)
	}
	done(errors.New("boom"))
	if got := testutil.ToFloat64(inFlight.WithLabelValues(Expand)); got != 0 {
		t.Errorf("in flight after the operation = %v, want 0", got)
	}
	if n := testutil.CollectAndCount(duration, "plinth_storage_operation_duration_seconds"); n != 1 {
		t.Errorf("duration series = %d, want 1 (expand/error)", n)
	}
}
