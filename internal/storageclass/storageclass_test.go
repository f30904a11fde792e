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

package storageclass

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
)

func TestTopologyAllowed(t *testing.T) {
	zoneA := corev1.TopologySelectorTerm{MatchLabelExpressions: []corev1.TopologySelectorLabelRequirement{
		{Key: corev1.LabelTopologyZone, Values: []string{"zone-a"}},
	}}
	zoneBOnNode3 := corev1.TopologySelectorTerm{MatchLabelExpressions: []corev1.TopologySelectorLabelRequirement{
		{Key: corev1.LabelTopologyZone, Values: []string{"zone-b"}},
		{Key: "topology.csi.plinth.dev/node", Values: []string{"node-3"}},
	}}
	node := func(name, zone string) map[string]string {
		return map[string]string{"topology.csi.plinth.dev/node": name, corev1.LabelTopologyZone: zone}
	}
	tests := []struct {
		name  string
		terms []corev1.TopologySelectorTerm
		node  map[string]string
		want  bool
	}{
		{"no restriction allows every node", nil, node("node-1", "zone-a"), true},
		{"matching zone", []corev1.TopologySelectorTerm{zoneA}, node("node-1", "zone-a"), true},
		{"other zone", []corev1.TopologySelectorTerm{zoneA}, node("node-3", "zone-b"), false},
		{"node without the key", []corev1.TopologySelectorTerm{zoneA}, map[string]string{"topology.csi.plinth.dev/node": "x"}, false},
		{"terms are ORed", []corev1.TopologySelectorTerm{zoneA, zoneBOnNode3}, node("node-3", "zone-b"), true},
		{"expressions are ANDed", []corev1.TopologySelectorTerm{zoneBOnNode3}, node("node-4", "zone-b"), false},
	}
	for _, tt := range tests {
		class := &storagev1.StorageClass{AllowedTopologies: tt.terms}
		if got := TopologyAllowed(class, tt.node); got != tt.want {
			t.Errorf("%s: TopologyAllowed = %v, want %v", tt.name, got, tt.want)
		}
	}
}

func TestDriverParametersDropReservedKeys(t *testing.T) {
	class := &storagev1.StorageClass{Parameters: map[string]string{
		FSTypeParameter: "xfs", ReservedPrefix + "pvc/name": "x", "pool": "fast",
	}}
	got := DriverParameters(class.Parameters)
	if len(got) != 1 || got["pool"] != "fast" {
		t.Errorf("DriverParameters = %v, want only pool=fast", got)
	}
}
