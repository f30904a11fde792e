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

package apiserved

import (
	"fmt"

	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/apiutil"
)

// Kind reports whether the API server, as mapper knows it, serves the kind
// of obj, which scheme must know.
func Kind(scheme *runtime.Scheme, mapper meta.RESTMapper, obj client.Object) (bool, error) {
	gvk, err := apiutil.GVKForObject(obj, scheme)
	if err != nil {
		return false, fmt.Errorf("failed to resolve the kind of %T: %w", obj, err)
	}
	_, err = mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
	if meta.IsNoMatchError(err) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("failed to look up %s: %w", gvk.Kind, err)
	}
	return true, nil
}

// Mapper is what a manager offers to look kinds up.
type Mapper interface {
	GetScheme() *runtime.Scheme
	GetRESTMapper() meta.RESTMapper
}

// EachServed calls setup, in order, for each of kinds whose object (made
// by newObject) the API server serves, and stops at the first error: a
// controller that reconciles several kinds registers one copy per served
// kind.
func EachServed[K any](m Mapper, kinds []K, newObject func(K) client.Object, setup func(K) error) error {
	for _, k := range kinds {
		served, err := Kind(m.GetScheme(), m.GetRESTMapper(), newObject(k))
		if err != nil {
			return err
		}
		if !served {
			continue
		}
		if err := setup(k); err != nil {
			return err
		}
	}
	return nil
}
