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

package nodelabel

import (
	"maps"
	"testing"

	snapshotv1 "github.com/kubernetes-csi/external-snapshotter/client/v8/apis/volumesnapshot/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"

	"github.com/plinth-dev/plinth/internal/wellknown"
)

const driver = "csi.plinth.dev"

func pv(name, csiDriver string, labels map[string]string) *corev1.PersistentVolume {
	p := &corev1.PersistentVolume{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: labels}}
	if csiDriver != "" {
		p.Spec.CSI = &corev1.CSIPersistentVolumeSource{Driver: csiDriver, VolumeHandle: name}
	}
	return p
}

func content(name, csiDriver string, labels map[string]string) *snapshotv1.VolumeSnapshotContent {
	return &snapshotv1.VolumeSnapshotContent{
		ObjectMeta: metav1.ObjectMeta{Name: name, Labels: labels},
		Spec:       snapshotv1.VolumeSnapshotContentSpec{Driver: csiDriver},
	}
}

// Every object of the driver without a node label ends up Unclaimed; a
// label already there (a node's, even an admin's) and other drivers'
// objects are left alone, and the object's other labels stay.
func TestUnlabelledObjectsOfTheDriverBecomeUnclaimed(t *testing.T) {
	s := runtime.NewScheme()
	if err := clientgoscheme.AddToScheme(s); err != nil {
		t.Fatal(err)
	}
	if err := snapshotv1.AddToScheme(s); err != nil {
		t.Fatal(err)
	}
	mine := map[string]string{wellknown.LabelNode: "node-1"}
	objs := []client.Object{
		pv("static", driver, map[string]string{"team": "a"}), pv("provisioned", driver, mine),
		pv("nfs", "", nil), pv("other-driver", "example.com/csi", nil),
		content("import", driver, nil), content("cut", driver, mine), content("other", "example.com/csi", nil),
		old(pv("old-pv", driver, nil)), old(content("old-content", driver, nil)),
	}
	cl := fake.NewClientBuilder().WithScheme(s).WithObjects(objs...).Build()
	want := map[string]map[string]string{
		"static":       {"team": "a", wellknown.LabelNode: wellknown.NodeUnclaimed},
		"provisioned":  mine,
		"nfs":          nil,
		"other-driver": nil,
		"import":       {wellknown.LabelNode: wellknown.NodeUnclaimed},
		"cut":          mine,
		"other":        nil,
		"old-pv":       {wellknown.LabelNode: "node-7"},
		"old-content":  {wellknown.LabelNode: "node-7"},
	}
	for _, k := range kinds {
		r := &Reconciler{Client: cl, DriverName: driver, kind: k}
		for _, obj := range objs {
			if !sameKind(k.newObject(), obj) {
				continue
			}
			// The watch's predicate, then the reconcile, as the
			// controller runs them.
			if !r.unlabelled(obj) {
				continue
			}
			if _, err := r.Reconcile(t.Context(), ctrl.Request{NamespacedName: client.ObjectKeyFromObject(obj)}); err != nil {
				t.Fatalf("%s: %v", obj.GetName(), err)
			}
		}
		// A second pass finds nothing to do.
		for _, obj := range objs {
			if !sameKind(k.newObject(), obj) {
				continue
			}
			got := k.newObject()
			if err := cl.Get(t.Context(), client.ObjectKeyFromObject(obj), got); err != nil {
				t.Fatal(err)
			}
			if r.unlabelled(got) {
				t.Errorf("%s is still unlabelled after its reconcile", obj.GetName())
			}
			if !maps.Equal(got.GetLabels(), want[obj.GetName()]) {
				t.Errorf("%s labels = %v, want %v", obj.GetName(), got.GetLabels(), want[obj.GetName()])
			}
		}
	}
	// A deleted object is no error.
	r := &Reconciler{Client: cl, DriverName: driver, kind: kinds[0]}
	if _, err := r.Reconcile(t.Context(), ctrl.Request{NamespacedName: client.ObjectKey{Name: "gone"}}); err != nil {
		t.Errorf("reconcile of a deleted PV: %v", err)
	}
}

// old gives obj the node annotation of an object Plinth made before it
// labelled what it makes.
func old(obj client.Object) client.Object {
	obj.SetAnnotations(map[string]string{wellknown.AnnNode: "node-7"})
	return obj
}

func sameKind(a, b client.Object) bool {
	switch a.(type) {
	case *corev1.PersistentVolume:
		_, ok := b.(*corev1.PersistentVolume)
		return ok
	case *snapshotv1.VolumeSnapshotContent:
		_, ok := b.(*snapshotv1.VolumeSnapshotContent)
		return ok
	}
	return false
}
