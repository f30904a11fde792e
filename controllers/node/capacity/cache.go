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

package capacity

import (
	storagev1 "k8s.io/api/storage/v1"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// CacheOptions confines a manager's cache of CSIStorageCapacity objects to
// namespace, Plinth's own, where the publisher writes them: the components
// then need access to them in that namespace only. Every cached object
// drops its managedFields, which no controller of Plinth reads: they are a
// large share of each claim, PV and snapshot content kept in memory (see
// "Scale" in docs/benchmarks.md). Updates of such an object keep the
// server's managedFields.
func CacheOptions(namespace string) cache.Options {
	return cache.Options{
		ByObject: map[client.Object]cache.ByObject{
			&storagev1.CSIStorageCapacity{}: {Namespaces: map[string]cache.Config{namespace: {}}},
		},
		DefaultTransform: cache.TransformStripManagedFields(),
	}
}
