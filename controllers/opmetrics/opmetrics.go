package opmetrics

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"sigs.k8s.io/controller-runtime/pkg/metrics"
)

// Operations measured.
const (
	Provision      = "provision"
	Delete         = "delete"
	Snapshot       = "snapshot"
	DeleteSnapshot = "delete_snapshot"
	Expand         = "expand"
)

// Objects whose ready latency is measured.
const (
	Claim          = "persistentvolumeclaim"
	VolumeSnapshot = "volumesnapshot"
)

var (
	duration = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Namespace: "plinth", Subsystem: "storage", Name: "operation_duration_seconds",
		Help:    "Duration of storage operations, by operation and result.",
		Buckets: prometheus.ExponentialBuckets(0.001, 2, 16),
	}, []string{"operation", "result"})
	inFlight = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Namespace: "plinth", Subsystem: "storage", Name: "operations_in_flight",
		Help: "Storage operations running now, by operation.",
	}, []string{"operation"})
	readyLatency = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Namespace: "plinth", Subsystem: "storage", Name: "ready_latency_seconds",
		Help:    "Time from the creation of a claim or snapshot until it was provisioned or cut.",
		Buckets: prometheus.ExponentialBuckets(0.01, 2, 14),
	}, []string{"object"})
)

func init() {
	metrics.Registry.MustRegister(duration, inFlight, readyLatency)
}

// Start counts an operation in flight; the returned function ends it and
// records its duration with the result (success or error).
func Start(operation string) func(err error) {
	began := time.Now()
	inFlight.WithLabelValues(operation).Inc()
	return func(err error) {
		inFlight.WithLabelValues(operation).Dec()
		result := "success"
		if err != nil {
			result = "error"
		}
		duration.WithLabelValues(operation, result).Observe(time.Since(began).Seconds())
	}
}

// Ready records how long an object took from its creation to being ready.
func Ready(object string, created time.Time) {
	readyLatency.WithLabelValues(object).Observe(time.Since(created).Seconds())
}
