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

package devcluster

import "testing"

func TestNodeSpecsSpreadNodesOverZones(t *testing.T) {
	tests := []struct {
		nodes, zones int
		want         []string
	}{
		{3, 2, []string{"zone-a", "zone-a", "zone-b"}},
		{2, 2, []string{"zone-a", "zone-b"}},
		{2, 0, []string{"zone-a", "zone-a"}},
		{3, 3, []string{"zone-a", "zone-b", "zone-c"}},
	}
	for _, tt := range tests {
		specs := NodeSpecs(tt.nodes, tt.zones)
		for i, spec := range specs {
			if spec.Zone != tt.want[i] || spec.Region != "region-1" {
				t.Errorf("NodeSpecs(%d, %d)[%d] = %s/%s, want %s/region-1", tt.nodes, tt.zones, i, spec.Zone, spec.Region, tt.want[i])
			}
		}
	}
}
