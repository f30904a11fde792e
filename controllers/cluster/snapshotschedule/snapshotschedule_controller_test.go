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
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	snapshotv1 "github.com/kubernetes-csi/external-snapshotter/client/v8/apis/volumesnapshot/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/events"
	clocktesting "k8s.io/utils/clock/testing"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/interceptor"

	storagev1alpha1 "github.com/plinth-dev/plinth/apis/storage/v1alpha1"
)

// fixture drives a Reconciler against envtest with a fake clock, in a
// namespace of its own.
type fixture struct {
	t      *testing.T
	c      client.WithWatch
	ns     string
	clock  *clocktesting.FakeClock
	events *events.FakeRecorder
	r      *Reconciler
}

func newFixture(t *testing.T) *fixture {
	c, ns := newClient(t)
	f := &fixture{t: t, c: c, ns: ns, clock: clocktesting.NewFakeClock(time.Now()), events: events.NewFakeRecorder(100)}
	f.r = &Reconciler{Client: c, Clock: f.clock, Recorder: f.events}
	return f
}

// claim creates a claim with the given labels, bound when bound is set.
func (f *fixture) claim(name string, labels map[string]string, bound bool) {
	f.t.Helper()
	pvc := &corev1.PersistentVolumeClaim{
		ObjectMeta: metav1.ObjectMeta{Namespace: f.ns, Name: name, Labels: labels},
		Spec: corev1.PersistentVolumeClaimSpec{
			AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
			Resources:   corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("1Gi")}},
		},
	}
	f.must(f.c.Create(context.Background(), pvc))
	if bound {
		pvc.Status.Phase = corev1.ClaimBound
		f.must(f.c.Status().Update(context.Background(), pvc))
	}
}

// schedule creates an hourly schedule of the claims labelled app=db,
// changed by edit, and returns the first run due after its creation.
func (f *fixture) schedule(name string, edit func(*storagev1alpha1.SnapshotScheduleSpec)) time.Time {
	f.t.Helper()
	sched := &storagev1alpha1.SnapshotSchedule{
		ObjectMeta: metav1.ObjectMeta{Namespace: f.ns, Name: name},
		Spec: storagev1alpha1.SnapshotScheduleSpec{
			Selector:  metav1.LabelSelector{MatchLabels: map[string]string{"app": "db"}},
			Schedule:  "@hourly",
			Retention: storagev1alpha1.SnapshotRetention{MaxCount: ptr.To[int32](10)},
		},
	}
	if edit != nil {
		edit(&sched.Spec)
	}
	f.must(f.c.Create(context.Background(), sched))
	return sched.CreationTimestamp.Truncate(time.Hour).Add(time.Hour).UTC()
}

// reconcileAt sets the clock to now and reconciles the schedule.
func (f *fixture) reconcileAt(name string, now time.Time) ctrl.Result {
	f.t.Helper()
	f.clock.SetTime(now)
	res, err := f.r.Reconcile(context.Background(), ctrl.Request{NamespacedName: client.ObjectKey{Namespace: f.ns, Name: name}})
	f.must(err)
	return res
}

func (f *fixture) get(name string) *storagev1alpha1.SnapshotSchedule {
	f.t.Helper()
	sched := &storagev1alpha1.SnapshotSchedule{}
	f.must(f.c.Get(context.Background(), client.ObjectKey{Namespace: f.ns, Name: name}, sched))
	return sched
}

// snapshots lists every snapshot of the namespace, labelled or not.
func (f *fixture) snapshots() []snapshotv1.VolumeSnapshot {
	f.t.Helper()
	list := &snapshotv1.VolumeSnapshotList{}
	f.must(f.c.List(context.Background(), list, client.InNamespace(f.ns)))
	return list.Items
}

// runs returns "claim@hh:mm" for each snapshot of the namespace, ordered by
// claim and then by scheduled time (not by the text: a schedule created at
// 22:30 runs at 23:00, then 00:00, which sorts first as text).
func (f *fixture) runs() []string {
	f.t.Helper()
	snaps := f.snapshots()
	slices.SortFunc(snaps, func(a, b snapshotv1.VolumeSnapshot) int {
		if c := strings.Compare(sourceClaim(&a), sourceClaim(&b)); c != 0 {
			return c
		}
		return scheduledTime(&a).Compare(scheduledTime(&b))
	})
	out := make([]string, 0, len(snaps))
	for i := range snaps {
		out = append(out, sourceClaim(&snaps[i])+"@"+scheduledTime(&snaps[i]).Format("15:04"))
	}
	return out
}

// markReady sets readyToUse on the snapshot of claim for the run at slot, as
// the snapshot controller would.
func (f *fixture) markReady(schedule, claim string, slot time.Time) {
	f.t.Helper()
	vs := &snapshotv1.VolumeSnapshot{}
	f.must(f.c.Get(context.Background(), client.ObjectKey{Namespace: f.ns, Name: snapshotName(schedule, claim, slot)}, vs))
	vs.Status = &snapshotv1.VolumeSnapshotStatus{ReadyToUse: ptr.To(true)}
	f.must(f.c.Status().Update(context.Background(), vs))
}

// ready returns the schedule's Ready condition, failing when there is none.
func (f *fixture) ready(name string) metav1.Condition {
	f.t.Helper()
	sched := f.get(name)
	c := meta.FindStatusCondition(sched.Status.Conditions, storagev1alpha1.ScheduleReady)
	if c == nil {
		f.t.Fatalf("schedule %s has no Ready condition: %+v", name, sched.Status)
	}
	if c.ObservedGeneration != sched.Generation {
		f.t.Errorf("Ready condition observed generation %d, schedule at %d", c.ObservedGeneration, sched.Generation)
	}
	return *c
}

// drainEvents returns the Events recorded so far.
func (f *fixture) drainEvents() []string {
	var out []string
	for {
		select {
		case e := <-f.events.Events:
			out = append(out, e)
		default:
			return out
		}
	}
}

func (f *fixture) must(err error) {
	f.t.Helper()
	if err != nil {
		f.t.Fatal(err)
	}
}

func hhmm(ts ...time.Time) []string {
	var out []string
	for _, t := range ts {
		out = append(out, t.Format("15:04"))
	}
	return out
}

func TestSnapshotsMatchingBoundClaimsOnlyWhenDue(t *testing.T) {
	f := newFixture(t)
	f.claim("db-0", map[string]string{"app": "db"}, true)
	f.claim("db-1", map[string]string{"app": "db"}, true)
	f.claim("db-pending", map[string]string{"app": "db"}, false)
	f.claim("web", map[string]string{"app": "web"}, true)
	first := f.schedule("hourly", func(s *storagev1alpha1.SnapshotScheduleSpec) { s.SnapshotClassName = ptr.To("fast") })

	res := f.reconcileAt("hourly", first.Add(-10*time.Minute))
	if len(f.snapshots()) != 0 {
		t.Fatalf("snapshots before the first run: %v", f.runs())
	}
	if res.RequeueAfter != 10*time.Minute {
		t.Errorf("before the first run: requeue after %v, want 10m", res.RequeueAfter)
	}

	res = f.reconcileAt("hourly", first.Add(2*time.Second))
	if got, want := f.runs(), []string{"db-0@" + hhmm(first)[0], "db-1@" + hhmm(first)[0]}; !slices.Equal(got, want) {
		t.Fatalf("snapshots %v, want %v", got, want)
	}
	for _, s := range f.snapshots() {
		if s.Labels[storagev1alpha1.LabelSchedule] != "hourly" || s.Labels[storagev1alpha1.LabelClaim] != sourceClaim(&s) {
			t.Errorf("snapshot %s labels %v", s.Name, s.Labels)
		}
		if ptr.Deref(s.Spec.VolumeSnapshotClassName, "") != "fast" {
			t.Errorf("snapshot %s class %v, want fast", s.Name, s.Spec.VolumeSnapshotClassName)
		}
	}
	if res.RequeueAfter != time.Hour-2*time.Second {
		t.Errorf("after a run: requeue after %v, want the next run in 59m58s", res.RequeueAfter)
	}
	st := f.get("hourly").Status
	if !st.LastRunTime.Equal(&metav1.Time{Time: first}) || !st.NextRunTime.Equal(&metav1.Time{Time: first.Add(time.Hour)}) || st.Snapshots != 2 {
		t.Errorf("status last %v next %v snapshots %d, want %v, %v, 2", st.LastRunTime, st.NextRunTime, st.Snapshots, first, first.Add(time.Hour))
	}
	if c := f.ready("hourly"); c.Status != metav1.ConditionTrue || c.Reason != storagev1alpha1.ReasonScheduled {
		t.Errorf("Ready %s/%s, want True/Scheduled", c.Status, c.Reason)
	}
	if evs := f.drainEvents(); len(evs) != 1 || !strings.Contains(evs[0], "created 2 snapshots") {
		t.Errorf("events %q, want one about 2 snapshots", evs)
	}
}

func TestDefaultClassLeavesTheClassUnset(t *testing.T) {
	f := newFixture(t)
	f.claim("db-0", map[string]string{"app": "db"}, true)
	first := f.schedule("hourly", nil)
	f.reconcileAt("hourly", first)
	for _, s := range f.snapshots() {
		if s.Spec.VolumeSnapshotClassName != nil {
			t.Errorf("snapshot %s class %q, want unset", s.Name, *s.Spec.VolumeSnapshotClassName)
		}
	}
}

func TestARetriedRunCreatesNoSecondSnapshot(t *testing.T) {
	f := newFixture(t)
	f.claim("db-0", map[string]string{"app": "db"}, true)
	first := f.schedule("hourly", nil)
	f.reconcileAt("hourly", first)
	f.reconcileAt("hourly", first.Add(time.Minute))

	// A crash after the snapshots but before the status: the run is retried.
	sched := f.get("hourly")
	sched.Status = storagev1alpha1.SnapshotScheduleStatus{}
	f.must(f.c.Status().Update(context.Background(), sched))
	f.reconcileAt("hourly", first.Add(2*time.Minute))

	if got := f.runs(); !slices.Equal(got, []string{"db-0@" + hhmm(first)[0]}) {
		t.Errorf("snapshots %v, want one of the first run", got)
	}
	if st := f.get("hourly").Status; !st.LastRunTime.Equal(&metav1.Time{Time: first}) || st.Snapshots != 1 {
		t.Errorf("status after the retry: last %v snapshots %d", st.LastRunTime, st.Snapshots)
	}
}

func TestCountRetentionKeepsTheNewestAndLeavesOthersAlone(t *testing.T) {
	f := newFixture(t)
	f.claim("db-0", map[string]string{"app": "db"}, true)
	f.claim("db-1", map[string]string{"app": "db"}, true)
	first := f.schedule("hourly", func(s *storagev1alpha1.SnapshotScheduleSpec) { s.Retention.MaxCount = ptr.To[int32](2) })
	manual := &snapshotv1.VolumeSnapshot{
		ObjectMeta: metav1.ObjectMeta{Namespace: f.ns, Name: "manual"},
		Spec:       snapshotv1.VolumeSnapshotSpec{Source: snapshotv1.VolumeSnapshotSource{PersistentVolumeClaimName: ptr.To("db-0")}},
	}
	f.must(f.c.Create(context.Background(), manual))

	for i := range 4 {
		f.reconcileAt("hourly", first.Add(time.Duration(i)*time.Hour))
	}
	// The unlabelled snapshot is still there; then it is out of the way.
	f.must(f.c.Get(context.Background(), client.ObjectKeyFromObject(manual), manual))

	f.must(f.c.Delete(context.Background(), manual))
	last := hhmm(first.Add(2*time.Hour), first.Add(3*time.Hour))
	want := []string{"db-0@" + last[0], "db-0@" + last[1], "db-1@" + last[0], "db-1@" + last[1]}
	if got := f.runs(); !slices.Equal(got, want) {
		t.Errorf("scheduled snapshots %v, want %v", got, want)
	}
	if n := f.get("hourly").Status.Snapshots; n != 4 {
		t.Errorf("status counts %d snapshots, want 4", n)
	}
}

func TestAgeRetentionKeepsTheNewestReadySnapshot(t *testing.T) {
	f := newFixture(t)
	f.claim("db-0", map[string]string{"app": "db"}, true)
	first := f.schedule("hourly", func(s *storagev1alpha1.SnapshotScheduleSpec) {
		s.Retention = storagev1alpha1.SnapshotRetention{MaxAge: &metav1.Duration{Duration: 150 * time.Minute}}
	})
	h := func(n int) time.Time { return first.Add(time.Duration(n) * time.Hour) }
	for i := range 3 {
		f.reconcileAt("hourly", h(i))
	}
	f.markReady("hourly", "db-0", h(0))

	// At h3+10m the first snapshot is past maxAge but still the only ready one.
	res := f.reconcileAt("hourly", h(3).Add(10*time.Minute))
	if got, want := f.runs(), prefixed("db-0@", hhmm(h(0), h(1), h(2), h(3))); !slices.Equal(got, want) {
		t.Fatalf("snapshots %v, want %v", got, want)
	}
	if res.RequeueAfter != 20*time.Minute {
		t.Errorf("requeue after %v, want 20m, when the h1 snapshot expires", res.RequeueAfter)
	}

	// Once a newer one is ready, the old one goes.
	f.markReady("hourly", "db-0", h(2))
	f.reconcileAt("hourly", h(3).Add(10*time.Minute))
	if got, want := f.runs(), prefixed("db-0@", hhmm(h(1), h(2), h(3))); !slices.Equal(got, want) {
		t.Errorf("snapshots %v, want %v", got, want)
	}
}

func prefixed(p string, ss []string) []string {
	for i := range ss {
		ss[i] = p + ss[i]
	}
	return ss
}

func TestSuspendedScheduleTakesNothing(t *testing.T) {
	f := newFixture(t)
	f.claim("db-0", map[string]string{"app": "db"}, true)
	first := f.schedule("hourly", func(s *storagev1alpha1.SnapshotScheduleSpec) { s.Suspend = true })
	res := f.reconcileAt("hourly", first.Add(3*time.Hour))
	if len(f.snapshots()) != 0 || res.RequeueAfter != 0 {
		t.Errorf("suspended schedule: snapshots %v, requeue after %v", f.runs(), res.RequeueAfter)
	}
	if c := f.ready("hourly"); c.Status != metav1.ConditionFalse || c.Reason != storagev1alpha1.ReasonSuspended {
		t.Errorf("Ready %s/%s, want False/Suspended", c.Status, c.Reason)
	}
	if st := f.get("hourly").Status; st.NextRunTime != nil || st.LastRunTime != nil {
		t.Errorf("suspended schedule status: last %v next %v", st.LastRunTime, st.NextRunTime)
	}
}

func TestInvalidCronSetsTheCondition(t *testing.T) {
	f := newFixture(t)
	f.claim("db-0", map[string]string{"app": "db"}, true)
	first := f.schedule("broken", func(s *storagev1alpha1.SnapshotScheduleSpec) { s.Schedule = "every tuesday" })
	res := f.reconcileAt("broken", first.Add(3*time.Hour))
	if len(f.snapshots()) != 0 || res.RequeueAfter != 0 {
		t.Errorf("invalid schedule: snapshots %v, requeue after %v", f.runs(), res.RequeueAfter)
	}
	c := f.ready("broken")
	if c.Status != metav1.ConditionFalse || c.Reason != storagev1alpha1.ReasonInvalidSchedule || !strings.Contains(c.Message, "every tuesday") {
		t.Errorf("Ready %s/%s %q, want False/InvalidSchedule naming the expression", c.Status, c.Reason, c.Message)
	}
	if evs := f.drainEvents(); len(evs) != 1 || !strings.HasPrefix(evs[0], "Warning InvalidSchedule") {
		t.Errorf("events %q, want one InvalidSchedule warning", evs)
	}
}

func TestCatchUpAfterDowntimeTakesOneRun(t *testing.T) {
	f := newFixture(t)
	f.claim("db-0", map[string]string{"app": "db"}, true)
	first := f.schedule("hourly", nil)
	latest := first.Add(5 * time.Hour)

	res := f.reconcileAt("hourly", latest.Add(30*time.Minute))
	f.reconcileAt("hourly", latest.Add(31*time.Minute))

	if got := f.runs(); !slices.Equal(got, []string{"db-0@" + hhmm(latest)[0]}) {
		t.Errorf("snapshots %v, want one, of the latest missed run", got)
	}
	if st := f.get("hourly").Status; !st.LastRunTime.Equal(&metav1.Time{Time: latest}) || !st.NextRunTime.Equal(&metav1.Time{Time: latest.Add(time.Hour)}) {
		t.Errorf("status last %v next %v, want %v and an hour later", st.LastRunTime, st.NextRunTime, latest)
	}
	if res.RequeueAfter != 30*time.Minute {
		t.Errorf("requeue after %v, want 30m", res.RequeueAfter)
	}
}

func TestAFailedSnapshotIsReportedAndTheRunRetried(t *testing.T) {
	f := newFixture(t)
	f.claim("db-0", map[string]string{"app": "db"}, true)
	f.claim("db-1", map[string]string{"app": "db"}, true)
	first := f.schedule("hourly", nil)
	failing := interceptor.NewClient(f.c, interceptor.Funcs{
		Create: func(ctx context.Context, c client.WithWatch, obj client.Object, opts ...client.CreateOption) error {
			if s, ok := obj.(*snapshotv1.VolumeSnapshot); ok && sourceClaim(s) == "db-1" {
				return errors.New("quota exceeded")
			}
			return c.Create(ctx, obj, opts...)
		},
	})
	f.r.Client = failing
	f.clock.SetTime(first)
	_, err := f.r.Reconcile(context.Background(), ctrl.Request{NamespacedName: client.ObjectKey{Namespace: f.ns, Name: "hourly"}})
	if err == nil || !strings.Contains(err.Error(), "quota exceeded") {
		t.Fatalf("Reconcile: err = %v, want the creation failure", err)
	}
	c := f.ready("hourly")
	if c.Status != metav1.ConditionFalse || c.Reason != storagev1alpha1.ReasonSnapshotFailed || !strings.Contains(c.Message, "quota exceeded") {
		t.Errorf("Ready %s/%s %q, want False/SnapshotFailed with the error", c.Status, c.Reason, c.Message)
	}
	if st := f.get("hourly").Status; st.LastRunTime != nil {
		t.Errorf("a failed run was recorded as taken at %v", st.LastRunTime)
	}
	if evs := f.drainEvents(); !slices.ContainsFunc(evs, func(e string) bool { return strings.HasPrefix(e, "Warning SnapshotFailed") }) {
		t.Errorf("events %q, want a SnapshotFailed warning", evs)
	}

	f.r.Client = f.c
	f.reconcileAt("hourly", first.Add(time.Minute))
	if got, want := f.runs(), []string{"db-0@" + hhmm(first)[0], "db-1@" + hhmm(first)[0]}; !slices.Equal(got, want) {
		t.Errorf("snapshots after the retry %v, want %v", got, want)
	}
	if c := f.ready("hourly"); c.Status != metav1.ConditionTrue {
		t.Errorf("Ready %s/%s after the retry, want True", c.Status, c.Reason)
	}
}
