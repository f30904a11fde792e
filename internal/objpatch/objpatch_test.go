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

package objpatch_test

import (
	"encoding/json"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/plinth-dev/plinth/internal/objpatch"
)

func TestRemoveFinalizerTestsItsPlaceAndRemovesOnlyIt(t *testing.T) {
	pvc := &corev1.PersistentVolumeClaim{ObjectMeta: metav1.ObjectMeta{
		Finalizers:  []string{"kubernetes.io/pvc-protection", "plinth.dev/provisioning"},
		Annotations: map[string]string{"plinth.dev/node": "n1", "other": "x"},
	}}
	patch, ok := objpatch.RemoveFinalizer(pvc, "plinth.dev/provisioning", "plinth.dev/node", "absent")
	if !ok {
		t.Fatal("nothing to remove")
	}
	data, err := patch.Data(pvc)
	if err != nil {
		t.Fatal(err)
	}
	var ops []map[string]any
	if err := json.Unmarshal(data, &ops); err != nil {
		t.Fatal(err)
	}
	want := []map[string]any{
		{"op": "test", "path": "/metadata/finalizers/1", "value": "plinth.dev/provisioning"},
		{"op": "remove", "path": "/metadata/finalizers/1"},
		{"op": "remove", "path": "/metadata/annotations/plinth.dev~1node"},
	}
	if got, _ := json.Marshal(ops); string(got) != mustJSON(t, want) {
		t.Errorf("patch = %s, want %s", got, mustJSON(t, want))
	}
	if len(pvc.Finalizers) != 1 || pvc.Annotations["other"] != "x" || pvc.Annotations["plinth.dev/node"] != "" {
		t.Errorf("object after the patch: finalizers %v, annotations %v", pvc.Finalizers, pvc.Annotations)
	}
	if _, ok := objpatch.RemoveFinalizer(pvc, "plinth.dev/provisioning", "plinth.dev/node"); ok {
		t.Error("a second removal has something to do")
	}
}

func mustJSON(t *testing.T, v any) string {
	data, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}
