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

package snapshotschedule

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	snapshotv1 "github.com/kubernetes-csi/external-snapshotter/client/v8/apis/volumesnapshot/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	storagev1alpha1 "github.com/plinth-dev/plinth/apis/storage/v1alpha1"
	"github.com/plinth-dev/plinth/internal/wellknown"
)

func TestCheckIntervalRefusesSchedulesUnderTheMinimum(t *testing.T) {
	now := time.Date(2026, 3, 1, 10, 7, 0, 0, time.UTC)
	for _, tc := range []struct {
		spec string
		ok   bool
	}{
		{"@every 1s", false},
		{"@every 0s", false},
		{"@every -5s", false},
		{"@every 4m59s", false},
		{"* * * * *", false},
		{"0,1 3 * * *", false}, // once a day, but two runs a minute apart
		{"@every 5m", true},
		{"*/5 * * * *", true},
		{"@hourly", true},
		{"0 0 29 2 *", true}, // leap days only
	} {
		t.Run(tc.spec, func(t *testing.T) {
			s, err := parseSchedule(tc.spec, now)
			if err != nil {
				t.Fatal(err)
			}
			err = checkInterval(tc.spec, s, now, DefaultMinInterval)
			if (err == nil) != tc.ok {
				t.Errorf("checkInterval(%q) = %v, want ok=%v", tc.spec, err, tc.ok)
			}
		})
	}
}

func TestRetentionCountIsBoundedWhenOnlyMaxAgeIsSet(t *testing.T) {
	now := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	var snaps []snapshotv1.VolumeSnapshot
	for i := range storagev1alpha1.DefaultMaxCount + 50 {
		s := snapshotv1.VolumeSnapshot{ObjectMeta: metav1.ObjectMeta{
			Name:        fmt.Sprintf("s-%03d", i),
			Annotations: map[string]string{storagev1alpha1.AnnotationScheduledTime: now.Add(-time.Duration(i) * time.Hour).Format(time.RFC3339)},
		}, Spec: snapshotv1.VolumeSnapshotSpec{Source: snapshotv1.VolumeSnapshotSource{PersistentVolumeClaimName: ptr.To("db")}}}
		snaps = append(snaps, s)
	}
	ageOnly := storagev1alpha1.SnapshotRetention{MaxAge: &metav1.Duration{Duration: 365 * 24 * time.Hour}}
	if plan := planRetention(snaps, effectiveRetention(ageOnly), now); len(plan.keep) != storagev1alpha1.DefaultMaxCount {
		t.Errorf("a maxAge-only schedule keeps %d snapshots of a claim, want at most %d", len(plan.keep), storagev1alpha1.DefaultMaxCount)
	}
}

func TestAScheduleFiringTooOftenIsRefused(t *testing.T) {
	f := newFixture(t)
	f.claim("db-0", map[string]string{"app": "db"}, true)
	first := f.schedule("minutely", func(s *storagev1alpha1.SnapshotScheduleSpec) { s.Schedule = "* * * * *" })
	res := f.reconcileAt("minutely", first.Add(3*time.Minute))
	if len(f.snapshots()) != 0 || res.RequeueAfter != 0 {
		t.Errorf("a schedule under the minimum interval: snapshots %v, requeue after %v", f.runs(), res.RequeueAfter)
	}
	c := f.ready("minutely")
	if c.Status != metav1.ConditionFalse || c.Reason != storagev1alpha1.ReasonIntervalTooShort || !strings.Contains(c.Message, "5m0s") {
		t.Errorf("Ready %s/%s %q, want False/IntervalTooShort naming the minimum", c.Status, c.Reason, c.Message)
	}
	if evs := f.drainEvents(); len(evs) != 1 || !strings.HasPrefix(evs[0], "Warning IntervalTooShort") {
		t.Errorf("events %q, want one IntervalTooShort warning", evs)
	}

	f.r.MinInterval = time.Minute // as --snapshotschedule-min-interval=1m
	f.reconcileAt("minutely", first.Add(4*time.Minute))
	if len(f.snapshots()) != 1 {
		t.Errorf("with a 1m minimum the minutely schedule took %v, want one snapshot", f.runs())
	}
}

// boundClaimOnPool creates a claim bound to a PV of node's pool, and the
// node's StoragePool with the given available space.
func (f *fixture) boundClaimOnPool(name, node string, available string) {
	f.t.Helper()
	ctx := context.Background()
	pv := &corev1.PersistentVolume{
		ObjectMeta: metav1.ObjectMeta{Name: f.ns + "-" + name, Annotations: map[string]string{wellknown.AnnNode: node}},
		Spec: corev1.PersistentVolumeSpec{
			Capacity:    corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("1Gi")},
			AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
			PersistentVolumeSource: corev1.PersistentVolumeSource{CSI: &corev1.CSIPersistentVolumeSource{
				Driver: wellknown.DriverName, VolumeHandle: "vol-" + name,
			}},
		},
	}
	f.must(f.c.Create(ctx, pv))
	pool := &storagev1alpha1.StoragePool{
		ObjectMeta: metav1.ObjectMeta{Name: node},
		Spec:       storagev1alpha1.StoragePoolSpec{NodeName: node, Path: "/var/lib/plinth/pool"},
	}
	f.must(f.c.Create(ctx, pool))
	pool.Status.Reflink = true
	pool.Status.Available = ptr.To(resource.MustParse(available))
	f.must(f.c.Status().Update(ctx, pool))
	pvc := &corev1.PersistentVolumeClaim{
		ObjectMeta: metav1.ObjectMeta{Namespace: f.ns, Name: name, Labels: map[string]string{"app": "db"}},
		Spec: corev1.PersistentVolumeClaimSpec{
			AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
			Resources:   corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("1Gi")}},
			VolumeName:  pv.Name,
		},
	}
	f.must(f.c.Create(ctx, pvc))
	pvc.Status.Phase = corev1.ClaimBound
	f.must(f.c.Status().Update(ctx, pvc))
}

func TestNoSnapshotOnAPoolPastItsReserve(t *testing.T) {
	f := newFixture(t)
	full, roomy := f.ns+"-full", f.ns+"-roomy"
	f.boundClaimOnPool("on-full", full, "0")
	f.boundClaimOnPool("on-roomy", roomy, "10Gi")
	first := f.schedule("hourly", nil)
	f.reconcileAt("hourly", first)
	if got := f.runs(); !slices.Equal(got, []string{"on-roomy@" + hhmm(first)[0]}) {
		t.Errorf("snapshots %v, want only the claim whose pool has room", got)
	}
	c := f.ready("hourly")
	if c.Status != metav1.ConditionFalse || c.Reason != storagev1alpha1.ReasonPoolPastReserve || !strings.Contains(c.Message, full) {
		t.Errorf("Ready %s/%s %q, want False/PoolPastReserve naming the full pool", c.Status, c.Reason, c.Message)
	}
	if evs := f.drainEvents(); !slices.ContainsFunc(evs, func(e string) bool { return strings.HasPrefix(e, "Warning PoolPastReserve") }) {
		t.Errorf("events %q, want a PoolPastReserve warning", evs)
	}
	if st := f.get("hourly").Status; st.LastRunTime == nil || !st.LastRunTime.Equal(&metav1.Time{Time: first}) {
		t.Errorf("last run %v, want %v: a full pool must not make the run retry in a loop", st.LastRunTime, first)
	}
}

func TestNoMoreSnapshotsWhileDeletionsLagBehindTheCap(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	f.claim("db-0", map[string]string{"app": "db"}, true)
	first := f.schedule("hourly", func(s *storagev1alpha1.SnapshotScheduleSpec) { s.Retention.MaxCount = ptr.To[int32](1) })
	// Two earlier snapshots whose deletion is stuck behind a finalizer.
	for i := range 2 {
		slot := first.Add(-time.Duration(i+1) * time.Hour)
		snap := newSnapshot(f.get("hourly"), "db-0", slot)
		snap.Finalizers = []string{"test.plinth.dev/stuck"}
		f.must(f.c.Create(ctx, snap))
		f.must(f.c.Delete(ctx, snap))
	}
	f.reconcileAt("hourly", first)
	if n := len(f.snapshots()); n != 2 {
		t.Errorf("the schedule holds %d snapshots of db-0, want the 2 stuck ones and no new one", n)
	}
	if c := f.ready("hourly"); c.Reason != storagev1alpha1.ReasonSnapshotCapReached {
		t.Errorf("Ready %s/%s %q, want SnapshotCapReached", c.Status, c.Reason, c.Message)
	}
	for _, s := range f.snapshots() {
		s.Finalizers = nil
		f.must(f.c.Update(ctx, &s))
	}
}

func TestTheAPIAcceptsEveryIntervalsOfAMinuteOrMore(t *testing.T) {
	c, ns := newClient(t)
	for i, every := range []string{"@every 1m", "@every 90s", "@every 1h30m"} {
		sched := &storagev1alpha1.SnapshotSchedule{
			ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: fmt.Sprintf("every-%d", i)},
			Spec: storagev1alpha1.SnapshotScheduleSpec{
				Schedule:  every,
				Retention: storagev1alpha1.SnapshotRetention{MaxCount: ptr.To[int32](7)},
			},
		}
		if err := c.Create(context.Background(), sched); err != nil {
			t.Errorf("Create with schedule %q: %v", every, err)
		}
	}
}
