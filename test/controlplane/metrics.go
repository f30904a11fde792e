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

package controlplane

import (
	"fmt"
	"io"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// Samples are the samples of one metric in a /metrics body: each with its
// labels and its value.
type Samples []Sample

// Sample is one series of a metric at the moment it was read.
type Sample struct {
	Labels map[string]string
	Value  float64
}

// ParseMetrics reads a Prometheus text exposition (what a component's
// /metrics serves) and returns the samples of every metric by name. A
// counter, gauge or untyped sample has its value; a summary or histogram
// its sample count.
func ParseMetrics(r io.Reader) (map[string]Samples, error) {
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(r)
	if err != nil {
		return nil, fmt.Errorf("failed to parse metrics: %w", err)
	}
	out := make(map[string]Samples, len(families))
	for name, f := range families {
		for _, m := range f.GetMetric() {
			out[name] = append(out[name], Sample{Labels: labelsOf(m), Value: valueOf(m)})
		}
	}
	return out, nil
}

// Sum adds up the values of the samples.
func (s Samples) Sum() float64 {
	var sum float64
	for _, x := range s {
		sum += x.Value
	}
	return sum
}

func labelsOf(m *dto.Metric) map[string]string {
	labels := make(map[string]string, len(m.GetLabel()))
	for _, l := range m.GetLabel() {
		labels[l.GetName()] = l.GetValue()
	}
	return labels
}

func valueOf(m *dto.Metric) float64 {
	switch {
	case m.Counter != nil:
		return m.GetCounter().GetValue()
	case m.Gauge != nil:
		return m.GetGauge().GetValue()
	case m.Summary != nil:
		return float64(m.GetSummary().GetSampleCount())
	case m.Histogram != nil:
		return float64(m.GetHistogram().GetSampleCount())
	default:
		return m.GetUntyped().GetValue()
	}
}
