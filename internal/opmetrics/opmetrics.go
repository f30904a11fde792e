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
