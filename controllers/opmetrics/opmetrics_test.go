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
