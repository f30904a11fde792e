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

package snapshot

import (
	"encoding/json"
	"testing"
	"time"

	snapshotv1 "github.com/kubernetes-csi/external-snapshotter/client/v8/apis/volumesnapshot/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
)

func TestStatusFromMirrorsTheContent(t *testing.T) {
	created := time.Date(2026, 11, 22, 3, 0, 0, 123456789, time.UTC)
	content := &snapshotv1.VolumeSnapshotContent{
		ObjectMeta: metav1.ObjectMeta{Name: "snapcontent-1"},
		Status: &snapshotv1.VolumeSnapshotContentStatus{
			SnapshotHandle: ptr.To("snap-1"), CreationTime: ptr.To(created.UnixNano()),
			RestoreSize: ptr.To(int64(1 << 30)), ReadyToUse: ptr.To(true),
		},
	}
	st := statusFrom(content)
	if *st.BoundVolumeSnapshotContentName != "snapcontent-1" || !*st.ReadyToUse || st.RestoreSize.Value() != 1<<30 {
		t.Errorf("status = %+v, want bound to snapcontent-1, ready, 1Gi", st)
	}
}

// An unchanged status must compare equal after a round trip through the API
// (which keeps seconds only), or every reconcile would patch it again.
func TestStatusFromSurvivesARoundTrip(t *testing.T) {
	content := &snapshotv1.VolumeSnapshotContent{
		ObjectMeta: metav1.ObjectMeta{Name: "snapcontent-1"},
		Status:     &snapshotv1.VolumeSnapshotContentStatus{CreationTime: ptr.To(time.Now().UnixNano()), ReadyToUse: ptr.To(true)},
	}
	st := statusFrom(content)
	data, err := json.Marshal(st)
	if err != nil {
		t.Fatal(err)
	}
	var stored snapshotv1.VolumeSnapshotStatus
	if err := json.Unmarshal(data, &stored); err != nil {
		t.Fatal(err)
	}
	if !equality.Semantic.DeepEqual(stored, statusFrom(content)) {
		t.Errorf("status changed in a round trip: %+v vs %+v", stored, st)
	}
}

func TestContentWithoutStatusIsBoundButNotReady(t *testing.T) {
	st := statusFrom(&snapshotv1.VolumeSnapshotContent{ObjectMeta: metav1.ObjectMeta{Name: "c"}})
	if *st.BoundVolumeSnapshotContentName != "c" || *st.ReadyToUse {
		t.Errorf("status = %+v, want bound to c and not ready", st)
	}
}

func TestFirstStatusWaitsBrieflyForTheNewContentsStatus(t *testing.T) {
	now := time.Date(2026, 12, 2, 12, 0, 0, 0, time.UTC)
	newContent := func(age time.Duration, status *snapshotv1.VolumeSnapshotContentStatus) *snapshotv1.VolumeSnapshotContent {
		return &snapshotv1.VolumeSnapshotContent{
			ObjectMeta: metav1.ObjectMeta{CreationTimestamp: metav1.NewTime(now.Add(-age))},
			Status:     status,
		}
	}
	noStatus := &snapshotv1.VolumeSnapshot{}
	bound := &snapshotv1.VolumeSnapshot{Status: &snapshotv1.VolumeSnapshotStatus{ReadyToUse: ptr.To(false)}}
	ready := &snapshotv1.VolumeSnapshotContentStatus{ReadyToUse: ptr.To(true)}
	for _, c := range []struct {
		name    string
		vs      *snapshotv1.VolumeSnapshot
		content *snapshotv1.VolumeSnapshotContent
		want    time.Duration
	}{
		{"a content just created waits out the grace", noStatus, newContent(0, nil), statusGrace},
		{"a content half a second old waits the rest", noStatus, newContent(500*time.Millisecond, nil), statusGrace - 500*time.Millisecond},
		{"the grace over, the bound status is written", noStatus, newContent(statusGrace+time.Second, nil), 0},
		{"a content with a status is mirrored at once", noStatus, newContent(0, ready), 0},
		{"a snapshot with a status is updated at once", bound, newContent(0, nil), 0},
		{"a clock behind the API server's waits no more than the grace", noStatus, newContent(-time.Hour, nil), statusGrace},
	} {
		if got := statusWait(c.vs, c.content, now); got != c.want {
			t.Errorf("%s: statusWait = %v, want %v", c.name, got, c.want)
		}
	}
}
