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

package netpol

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"sigs.k8s.io/controller-runtime/pkg/metrics"
)

var (
	rulesProgrammed = prometheus.NewGauge(prometheus.GaugeOpts{
		Namespace: "plinth", Subsystem: "network_policy", Name: "rules",
		Help: "Rules in the node's NetworkPolicy chains after the last successful programming.",
	})
	elementsProgrammed = prometheus.NewGauge(prometheus.GaugeOpts{
		Namespace: "plinth", Subsystem: "network_policy", Name: "set_elements",
		Help: "Elements in the node's NetworkPolicy sets and verdict maps after the last successful programming.",
	})
	programmingLatency = prometheus.NewHistogram(prometheus.HistogramOpts{
		Namespace: "plinth", Subsystem: "network_policy", Name: "programming_duration_seconds",
		Help:    "Time to render and commit one NetworkPolicy nftables transaction.",
		Buckets: prometheus.ExponentialBuckets(0.001, 2, 14),
	})
	syncErrors = prometheus.NewCounter(prometheus.CounterOpts{
		Namespace: "plinth", Subsystem: "network_policy", Name: "programming_errors_total",
		Help: "NetworkPolicy nftables transactions that failed.",
	})
	policyProblems = prometheus.NewGauge(prometheus.GaugeOpts{
		Namespace: "plinth", Subsystem: "network_policy", Name: "unenforceable_parts",
		Help: "Parts of NetworkPolicies the node cannot enforce (the traffic they would allow stays denied).",
	})
)

func init() {
	metrics.Registry.MustRegister(rulesProgrammed, elementsProgrammed, programmingLatency, syncErrors, policyProblems)
}

func observe(s Stats, took time.Duration) {
	rulesProgrammed.Set(float64(s.Rules))
	elementsProgrammed.Set(float64(s.Elements))
	programmingLatency.Observe(took.Seconds())
}
