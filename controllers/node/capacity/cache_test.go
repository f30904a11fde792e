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
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestCacheOptionsStripManagedFields(t *testing.T) {
	opts := CacheOptions("plinth-system")
	if opts.DefaultTransform == nil {
		t.Fatal("no default transform")
	}
	pv := &corev1.PersistentVolume{ObjectMeta: metav1.ObjectMeta{
		Name: "pv", ManagedFields: []metav1.ManagedFieldsEntry{{Manager: "plinth-node"}},
	}}
	out, err := opts.DefaultTransform(pv)
	if err != nil {
		t.Fatal(err)
	}
	if got := out.(*corev1.PersistentVolume); got.ManagedFields != nil || got.Name != "pv" {
		t.Errorf("transformed PV = %+v, want its name and no managedFields", got.ObjectMeta)
	}
}
