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

package topology

import (
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/selection"
)

// Labels copied from the Node into the driver's topology when present.
var Labels = []string{corev1.LabelTopologyZone, corev1.LabelTopologyRegion}

// labelsOf returns the non-empty Labels of a Node.
func labelsOf(node *corev1.Node) map[string]string {
	seg := map[string]string{}
	for _, key := range Labels {
		if v := node.Labels[key]; v != "" {
			seg[key] = v
		}
	}
	return seg
}

// Admits reports whether a node with the given topology segments satisfies
// a PV's node affinity, as kube-scheduler and the kubelet check it: some
// term whose every expression matches. No affinity admits every node.
func Admits(affinity *corev1.VolumeNodeAffinity, segments map[string]string) bool {
	if affinity == nil || affinity.Required == nil {
		return true
	}
	set := labels.Set(segments)
	for _, term := range affinity.Required.NodeSelectorTerms {
		if termMatches(term, set) {
			return true
		}
	}
	return false
}

// operators maps node selector operators to label selector ones.
var operators = map[corev1.NodeSelectorOperator]selection.Operator{
	corev1.NodeSelectorOpIn:           selection.In,
	corev1.NodeSelectorOpNotIn:        selection.NotIn,
	corev1.NodeSelectorOpExists:       selection.Exists,
	corev1.NodeSelectorOpDoesNotExist: selection.DoesNotExist,
	corev1.NodeSelectorOpGt:           selection.GreaterThan,
	corev1.NodeSelectorOpLt:           selection.LessThan,
}

// termMatches ANDs a term's label expressions. A term with none, with field
// expressions (a PV's affinity has no node fields to match) or with an
// invalid expression matches nothing, as in the scheduler.
func termMatches(term corev1.NodeSelectorTerm, set labels.Set) bool {
	if len(term.MatchExpressions) == 0 || len(term.MatchFields) > 0 {
		return false
	}
	for _, expr := range term.MatchExpressions {
		op, ok := operators[expr.Operator]
		if !ok {
			return false
		}
		req, err := labels.NewRequirement(expr.Key, op, expr.Values)
		if err != nil || !req.Matches(set) {
			return false
		}
	}
	return true
}
