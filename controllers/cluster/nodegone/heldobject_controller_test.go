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

package nodegone

import (
	"context"
	"strings"
	"testing"
	"time"

	snapshotv1 "github.com/kubernetes-csi/external-snapshotter/client/v8/apis/volumesnapshot/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/tools/events"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"

	"github.com/plinth-dev/plinth/internal/wellknown"
)

var deletedAt = time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)

func testScheme(t *testing.T) *runtime.Scheme {
	s := runtime.NewScheme()
	if err := clientgoscheme.AddToScheme(s); err != nil {
		t.Fatal(err)
	}
	if err := snapshotv1.AddToScheme(s); err != nil {
		t.Fatal(err)
	}
	return s
}

// held returns an object of kind k being deleted since deletedAt, holding
// k's finalizer for node-1 (and another finalizer that must stay).
func held(k kind) client.Object {
	obj := k.newObject()
	obj.SetName("obj")
	if k.name == "claim" {
		obj.SetNamespace("apps")
	}
	obj.SetFinalizers([]string{k.finalizer, "example.com/other"})
	obj.SetDeletionTimestamp(&metav1.Time{Time: deletedAt})
	obj.SetAnnotations(map[string]string{
		wellknown.AnnProvisioningNode: "node-1", wellknown.AnnNode: "node-1",
	})
	return obj
}

func reconcile(t *testing.T, k kind, now time.Time, objs ...client.Object) (client.Object, ctrl.Result, *events.FakeRecorder) {
	t.Helper()
	c := fake.NewClientBuilder().WithScheme(testScheme(t)).WithObjects(objs...).Build()
	rec := events.NewFakeRecorder(5)
	r := &Reconciler{Client: c, Recorder: rec, Grace: 5 * time.Minute, Now: func() time.Time { return now }, kind: k}
	obj := objs[0]
	res, err := r.Reconcile(context.Background(), ctrl.Request{NamespacedName: client.ObjectKeyFromObject(obj)})
	if err != nil {
		t.Fatalf("Reconcile: %v", err)
	}
	got := k.newObject()
	if err := c.Get(context.Background(), client.ObjectKeyFromObject(obj), got); err != nil && !apierrors.IsNotFound(err) {
		t.Fatal(err)
	}
	return got, res, rec
}

func hasFinalizer(obj client.Object, f string) bool {
	for _, x := range obj.GetFinalizers() {
		if x == f {
			return true
		}
	}
	return false
}

func TestFinalizersOfAVanishedNodeAreReleasedAfterTheGrace(t *testing.T) {
	for _, k := range kinds {
		t.Run(k.name, func(t *testing.T) {
			got, res, rec := reconcile(t, k, deletedAt.Add(6*time.Minute), held(k))
			if hasFinalizer(got, k.finalizer) || !hasFinalizer(got, "example.com/other") {
				t.Errorf("finalizers after release: %v, want only example.com/other", got.GetFinalizers())
			}
			if res.RequeueAfter != 0 {
				t.Errorf("requeued after %s", res.RequeueAfter)
			}
			select {
			case e := <-rec.Events:
				if !strings.Contains(e, ReasonNodeGone) || !strings.Contains(e, "node-1") {
					t.Errorf("event %q does not name the reason and the node", e)
				}
			default:
				t.Error("no Event")
			}
		})
	}
}

func TestFinalizersStayWhileTheNodeExistsOrWithinTheGrace(t *testing.T) {
	node := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "node-1"}}
	for _, k := range kinds {
		t.Run(k.name+" node exists", func(t *testing.T) {
			got, res, _ := reconcile(t, k, deletedAt.Add(time.Hour), held(k), node)
			if !hasFinalizer(got, k.finalizer) {
				t.Error("finalizer released while the node exists")
			}
			if res.RequeueAfter != 5*time.Minute {
				t.Errorf("RequeueAfter = %s, want the grace (to notice the node going)", res.RequeueAfter)
			}
		})
		t.Run(k.name+" within the grace", func(t *testing.T) {
			got, res, _ := reconcile(t, k, deletedAt.Add(time.Minute), held(k))
			if !hasFinalizer(got, k.finalizer) {
				t.Error("finalizer released before the grace ended")
			}
			if res.RequeueAfter != 4*time.Minute {
				t.Errorf("RequeueAfter = %s, want the rest of the grace (4m)", res.RequeueAfter)
			}
		})
	}
}
