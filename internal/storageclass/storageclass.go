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
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
)

// ReservedPrefix starts the parameter keys that Kubernetes components
// interpret themselves and never pass to a driver.
const ReservedPrefix = "csi.storage.k8s.io/"

// FSTypeParameter names the filesystem of a class's volumes.
const FSTypeParameter = ReservedPrefix + "fstype"

// TopologyAllowed reports whether a node with the given topology segment
// satisfies the class's allowedTopologies: some term whose every
// expression matches. No allowedTopologies allows every node.
func TopologyAllowed(class *storagev1.StorageClass, topology map[string]string) bool {
	if len(class.AllowedTopologies) == 0 {
		return true
	}
	return slices.ContainsFunc(class.AllowedTopologies, func(term corev1.TopologySelectorTerm) bool {
		for _, expr := range term.MatchLabelExpressions {
			value, ok := topology[expr.Key]
			if !ok || !slices.Contains(expr.Values, value) {
				return false
			}
		}
		return true
	})
}

// DriverParameters returns the parameters of a storage or snapshot class
// without the reserved keys.
func DriverParameters(classParams map[string]string) map[string]string {
	params := make(map[string]string, len(classParams))
	for k, v := range classParams {
		if !strings.HasPrefix(k, ReservedPrefix) {
			params[k] = v
		}
	}
	return params
}
