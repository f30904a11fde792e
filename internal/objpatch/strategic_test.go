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
	"slices"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"

	"github.com/plinth-dev/plinth/internal/objpatch"
)

// Many writers adding the same finalizer from stale copies of a claim (a
// burst of snapshots of one claim) leave it there once, without a
// conflict; removing it keeps every other finalizer.
func TestFinalizerPatchesMergeWithoutConflicts(t *testing.T) {
	const protection, other = "snapshot.storage.kubernetes.io/pvc-as-source-protection", "kubernetes.io/pvc-protection"
	pvc := &corev1.PersistentVolumeClaim{ObjectMeta: metav1.ObjectMeta{
		Namespace: "ns", Name: "data", UID: "uid-1", Finalizers: []string{other},
		Annotations: map[string]string{"kept": "yes"},
	}}
	c := fake.NewClientBuilder().WithScheme(clientgoscheme.Scheme).WithObjects(pvc).Build()
	ctx := t.Context()
	stale := &corev1.PersistentVolumeClaim{}
	if err := c.Get(ctx, client.ObjectKeyFromObject(pvc), stale); err != nil {
		t.Fatal(err)
	}
	for range 3 {
		copied := stale.DeepCopy() // every writer read the claim before any wrote
		if err := c.Patch(ctx, copied, objpatch.AddFinalizer(copied, protection, map[string]string{"plinth.dev/node": "n1"})); err != nil {
			t.Fatalf("adding the finalizer from a stale copy: %v", err)
		}
	}
	got := &corev1.PersistentVolumeClaim{}
	if err := c.Get(ctx, client.ObjectKeyFromObject(pvc), got); err != nil {
		t.Fatal(err)
	}
	if got.Annotations["plinth.dev/node"] != "n1" || got.Annotations["kept"] != "yes" {
		t.Errorf("annotations after three adds = %v, want plinth.dev/node=n1 and kept=yes", got.Annotations)
	}
	if !slices.Equal(slices.Sorted(slices.Values(got.Finalizers)), []string{other, protection}) {
		t.Errorf("finalizers after three adds = %v, want %s and %s once each", got.Finalizers, other, protection)
	}
	for range 2 {
		copied := stale.DeepCopy()
		if err := c.Patch(ctx, copied, objpatch.DropFinalizer(copied, protection, "plinth.dev/node")); err != nil {
			t.Fatalf("removing the finalizer from a stale copy: %v", err)
		}
	}
	if err := c.Get(ctx, client.ObjectKeyFromObject(pvc), got); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got.Finalizers, []string{other}) {
		t.Errorf("finalizers after the removals = %v, want [%s]", got.Finalizers, other)
	}
	if got.Annotations["plinth.dev/node"] != "" || got.Annotations["kept"] != "yes" {
		t.Errorf("annotations after the removals = %v, want only kept=yes", got.Annotations)
	}
}
