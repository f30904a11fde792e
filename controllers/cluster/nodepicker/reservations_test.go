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

package nodepicker

import (
	"context"
	"testing"
	"time"

	"k8s.io/component-helpers/storage/volume"

	"github.com/plinth-dev/plinth/internal/wellknown"

	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/events"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// A burst of claims must not all land on the node that looked emptiest:
// each selection counts against the node until its volume exists.
func TestSelectionsReserveCapacityUntilTheVolumeExists(t *testing.T) {
	immediate := testStorageClass(testClass, ptr.To(storagev1.VolumeBindingImmediate))
	objs := []client.Object{immediate, testNode("node-a", "zone-a"), testNode("node-b", "zone-a"),
		capacityOf("node-a", testClass, "1Gi", ""), capacityOf("node-b", testClass, "800Mi", "")}
	var claims []*corev1.PersistentVolumeClaim
	for _, name := range []string{"first", "second", "third"} {
		pvc := testClaim(name, testClass, "600Mi")
		pvc.UID = types.UID("uid-" + name)
		pvc.Annotations = map[string]string{annStorageProvisioner: wellknown.DriverName}
		claims = append(claims, pvc)
		objs = append(objs, pvc)
	}
	c := newClient(t, objs...)
	p := &Picker{Client: c, Recorder: events.NewFakeRecorder(10), DriverName: wellknown.DriverName, Backoff: time.Minute}
	var got []string
	for _, pvc := range claims {
		key := client.ObjectKeyFromObject(pvc)
		if _, err := p.Reconcile(context.Background(), ctrl.Request{NamespacedName: key}); err != nil {
			t.Fatal(err)
		}
		if err := c.Get(context.Background(), key, pvc); err != nil {
			t.Fatal(err)
		}
		got = append(got, pvc.Annotations[volume.AnnSelectedNode])
	}
	// 1Gi vs 800Mi: node-a; then 400Mi left there vs 800Mi: node-b; then
	// 400Mi vs 200Mi: no room anywhere.
	want := []string{"node-a", "node-b", ""}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("claim %d went to %q, want %q (all: %v)", i, got[i], want[i], got)
		}
	}
}

func TestReservationsCountSelectionsTheCacheDoesNotShowYet(t *testing.T) {
	var r reservations
	now := time.Now()
	r.add("late", "node-a", resource.MustParse("1Gi"), now)
	r.add("old", "node-b", resource.MustParse("1Gi"), now.Add(-2*reservationTTL))
	bound := *testClaim("bound", testClass, "5Gi")
	bound.UID, bound.Spec.VolumeName = "bound", "pv-1"
	bound.Annotations = map[string]string{volume.AnnSelectedNode: "node-a", annStorageProvisioner: wellknown.DriverName}
	foreign := *testClaim("foreign", testClass, "5Gi")
	foreign.UID = "foreign"
	foreign.Annotations = map[string]string{volume.AnnSelectedNode: "node-a", annStorageProvisioner: "other.csi"}

	got := r.reserved([]corev1.PersistentVolumeClaim{bound, foreign}, wellknown.DriverName, "self", now)
	if q := got["node-a"]; q.Cmp(resource.MustParse("1Gi")) != 0 {
		t.Errorf("node-a reserved %s, want 1Gi (the pick the cache does not show; bound and foreign claims do not count)", q.String())
	}
	if q, ok := got["node-b"]; ok {
		t.Errorf("node-b reserved %s by an expired pick", q.String())
	}
	late := *testClaim("late", testClass, "1Gi")
	late.UID = "late"
	late.Annotations = map[string]string{volume.AnnSelectedNode: "node-a", annStorageProvisioner: wellknown.DriverName}
	got = r.reserved([]corev1.PersistentVolumeClaim{late}, wellknown.DriverName, "self", now)
	if q := got["node-a"]; q.Cmp(resource.MustParse("1Gi")) != 0 {
		t.Errorf("a pick shown by the cache counted %s, want once (1Gi)", q.String())
	}
	if len(r.picks) != 0 {
		t.Errorf("picks left after the cache showed them or they expired: %v", r.picks)
	}
}
