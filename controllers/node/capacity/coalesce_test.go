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
	"context"
	"testing"
	"time"

	snapshotv1 "github.com/kubernetes-csi/external-snapshotter/client/v8/apis/volumesnapshot/v1"
	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/util/workqueue"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	"github.com/plinth-dev/plinth/controllers/node/nodedeps"
	"github.com/plinth-dev/plinth/internal/wellknown"
)

const testDriver = "csi.plinth.dev"

func testPublisher(coalesce time.Duration) *Publisher {
	classes := []*storagev1.StorageClass{
		{ObjectMeta: metav1.ObjectMeta{Name: "fast"}, Provisioner: testDriver},
		{ObjectMeta: metav1.ObjectMeta{Name: "slow"}, Provisioner: testDriver},
		{ObjectMeta: metav1.ObjectMeta{Name: "other"}, Provisioner: "other.example.com"},
	}
	b := fake.NewClientBuilder().WithScheme(clientgoscheme.Scheme)
	for _, c := range classes {
		b = b.WithObjects(c)
	}
	return &Publisher{Deps: nodedeps.Deps{Client: b.Build(), DriverName: testDriver, NodeName: "n1"}, Coalesce: coalesce}
}

func volumeOn(node string) *corev1.PersistentVolume {
	pv := &corev1.PersistentVolume{Spec: corev1.PersistentVolumeSpec{
		PersistentVolumeSource: corev1.PersistentVolumeSource{CSI: &corev1.CSIPersistentVolumeSource{Driver: testDriver}},
	}}
	if node != "" {
		pv.Spec.NodeAffinity = &corev1.VolumeNodeAffinity{Required: &corev1.NodeSelector{NodeSelectorTerms: []corev1.NodeSelectorTerm{{
			MatchExpressions: []corev1.NodeSelectorRequirement{{Key: wellknown.TopologyKeyNode, Operator: corev1.NodeSelectorOpIn, Values: []string{node}}},
		}}}}
	}
	return pv
}

func TestOnlyThisNodesVolumesAndSnapshotsRepublish(t *testing.T) {
	p := testPublisher(0)
	foreign := volumeOn("n1")
	foreign.Spec.CSI.Driver = "other.example.com"
	for _, c := range []struct {
		name string
		pv   *corev1.PersistentVolume
		want bool
	}{
		{"a volume on this node", volumeOn("n1"), true},
		{"a volume on another node", volumeOn("n2"), false},
		{"a volume without node affinity", volumeOn(""), true},
		{"another driver's volume", foreign, false},
	} {
		if got := p.volumeHere(c.pv); got != c.want {
			t.Errorf("%s: volumeHere = %v, want %v", c.name, got, c.want)
		}
	}
	for _, c := range []struct {
		name string
		ann  map[string]string
		want bool
	}{
		{"a snapshot cut here", map[string]string{wellknown.AnnNode: "n1"}, true},
		{"a snapshot cut on another node", map[string]string{wellknown.AnnNode: "n2"}, false},
		{"an imported snapshot", nil, true},
	} {
		content := &snapshotv1.VolumeSnapshotContent{ObjectMeta: metav1.ObjectMeta{Annotations: c.ann}}
		if got := p.snapshotHere(content); got != c.want {
			t.Errorf("%s: snapshotHere = %v, want %v", c.name, got, c.want)
		}
	}
}

// TestABurstOfVolumesRepublishesEachClassOnce sends a burst of PV events
// through the handler and counts what the workqueue hands out: one request
// per class of the driver, after the window, however many events came.
func TestABurstOfVolumesRepublishesEachClassOnce(t *testing.T) {
	const window = 200 * time.Millisecond
	p := testPublisher(window)
	q := workqueue.NewTypedRateLimitingQueue(workqueue.DefaultTypedControllerRateLimiter[reconcile.Request]())
	defer q.ShutDown()
	h := p.coalesced()
	ctx := context.Background()
	start := time.Now()
	for range 50 {
		h.Create(ctx, event.CreateEvent{Object: volumeOn("n1")}, q)
		h.Update(ctx, event.UpdateEvent{ObjectOld: volumeOn("n1"), ObjectNew: volumeOn("n1")}, q)
	}
	got := map[string]int{}
	for len(got) < 2 {
		req, _ := q.Get() // blocks until the window has passed
		got[req.Name]++
		q.Done(req)
	}
	if waited := time.Since(start); waited < window {
		t.Errorf("the classes were republished after %v, before the %v window", waited, window)
	}
	if got["fast"] != 1 || got["slow"] != 1 || len(got) != 2 {
		t.Errorf("the burst enqueued %v, want fast and slow once each", got)
	}
	if n := q.Len(); n != 0 {
		t.Errorf("%d more requests queued after the burst, want none", n)
	}
}
