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
	"cmp"
	"context"
	"errors"
	"fmt"
	"time"

	snapshotv1 "github.com/kubernetes-csi/external-snapshotter/client/v8/apis/volumesnapshot/v1"
	"github.com/robfig/cron/v3"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/tools/events"
	"k8s.io/utils/clock"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	storagev1alpha1 "github.com/plinth-dev/plinth/apis/storage/v1alpha1"
	"github.com/plinth-dev/plinth/internal/objpatch"
)

// ControllerName names the controller, its logger and its Events.
const ControllerName = "snapshotschedule"

// Event reasons besides the condition reasons.
const (
	reasonSnapshotsCreated = "SnapshotsCreated"
	reasonSnapshotsPruned  = "SnapshotsPruned"
)

// +kubebuilder:rbac:groups=storage.plinth.dev,resources=snapshotschedules,verbs=get;list;watch
// +kubebuilder:rbac:groups=storage.plinth.dev,resources=snapshotschedules/status,verbs=get;update;patch
// +kubebuilder:rbac:groups=snapshot.storage.k8s.io,resources=volumesnapshots,verbs=list;watch;create;delete
// +kubebuilder:rbac:groups="",resources=persistentvolumeclaims,verbs=list;watch
// +kubebuilder:rbac:groups=events.k8s.io,resources=events,verbs=create;patch

// Reconciler takes and prunes the snapshots of SnapshotSchedules.
type Reconciler struct {
	// Client reads and writes schedules, claims and snapshots.
	Client client.Client
	// Clock tells the time runs are due against; tests inject a fake one.
	Clock clock.PassiveClock
	// Recorder emits Events about runs, pruning and invalid schedules.
	Recorder events.EventRecorder
	// MinInterval is the shortest time allowed between two runs of a
	// schedule; zero means DefaultMinInterval.
	MinInterval time.Duration
}

// SetupWithManager registers the reconciler with mgr, filling in the
// manager's client, the real clock and the manager's event recorder for
// fields left nil. Changes to a schedule's labelled snapshots requeue it, so
// that its count and retention follow them.
func (r *Reconciler) SetupWithManager(mgr ctrl.Manager) error {
	if r.Client == nil {
		r.Client = mgr.GetClient()
	}
	if r.Clock == nil {
		r.Clock = clock.RealClock{}
	}
	if r.Recorder == nil {
		r.Recorder = mgr.GetEventRecorder(ControllerName)
	}
	err := ctrl.NewControllerManagedBy(mgr).
		Named(ControllerName).
		For(&storagev1alpha1.SnapshotSchedule{}, builder.WithPredicates(predicate.GenerationChangedPredicate{})).
		Watches(&snapshotv1.VolumeSnapshot{}, handler.EnqueueRequestsFromMapFunc(scheduleOf),
			builder.WithPredicates(predicate.NewPredicateFuncs(hasScheduleLabel))).
		Complete(r)
	if err != nil {
		return fmt.Errorf("failed to set up the snapshot schedule controller: %w", err)
	}
	return nil
}

// hasScheduleLabel selects the snapshots a schedule took.
func hasScheduleLabel(o client.Object) bool {
	return o.GetLabels()[storagev1alpha1.LabelSchedule] != ""
}

// scheduleOf enqueues the schedule that took a snapshot.
func scheduleOf(_ context.Context, o client.Object) []reconcile.Request {
	key := client.ObjectKey{Namespace: o.GetNamespace(), Name: o.GetLabels()[storagev1alpha1.LabelSchedule]}
	return []reconcile.Request{{NamespacedName: key}}
}

// Reconcile takes the run that is due, if any, applies retention, records
// the outcome in the schedule's status and asks to come back at the next run
// or expiry.
func (r *Reconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	sched := &storagev1alpha1.SnapshotSchedule{}
	if err := r.Client.Get(ctx, req.NamespacedName, sched); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	before := sched.DeepCopy()
	res, runErr := r.reconcile(ctx, sched)
	if err := r.patchStatus(ctx, before, sched); err != nil {
		return ctrl.Result{}, errors.Join(runErr, err)
	}
	return res, runErr
}

// reconcile does the work of Reconcile on sched, whose status it updates in
// memory.
func (r *Reconciler) reconcile(ctx context.Context, sched *storagev1alpha1.SnapshotSchedule) (ctrl.Result, error) {
	now := r.Clock.Now()
	s, err := parseSchedule(sched.Spec.Schedule, now)
	if err != nil {
		r.invalid(sched, storagev1alpha1.ReasonInvalidSchedule, err)
		return ctrl.Result{}, r.refreshCount(ctx, sched)
	}
	if err := checkInterval(sched.Spec.Schedule, s, now, cmp.Or(r.MinInterval, DefaultMinInterval)); err != nil {
		r.invalid(sched, storagev1alpha1.ReasonIntervalTooShort, err)
		return ctrl.Result{}, r.refreshCount(ctx, sched)
	}
	sel, err := metav1.LabelSelectorAsSelector(&sched.Spec.Selector)
	if err != nil {
		r.invalid(sched, storagev1alpha1.ReasonInvalidSelector, fmt.Errorf("failed to convert the claim selector: %w", err))
		return ctrl.Result{}, r.refreshCount(ctx, sched)
	}
	if sched.Spec.Suspend {
		sched.Status.NextRunTime = nil
		r.setReady(sched, metav1.ConditionFalse, storagev1alpha1.ReasonSuspended, "the schedule is suspended")
		return ctrl.Result{}, r.refreshCount(ctx, sched)
	}
	return r.runAndPrune(ctx, sched, runner{schedule: s, selector: sel}, now)
}

// runner is what a valid schedule runs with: its parsed cron expression and
// claim selector.
type runner struct {
	schedule cron.Schedule
	selector labels.Selector
}

// runAndPrune takes the due run, if any, then applies retention.
func (r *Reconciler) runAndPrune(ctx context.Context, sched *storagev1alpha1.SnapshotSchedule, rn runner, now time.Time) (ctrl.Result, error) {
	base := sched.CreationTimestamp.Time
	if sched.Status.LastRunTime != nil {
		base = sched.Status.LastRunTime.Time
	}
	refused := refusals{}
	if slot := latestSlot(rn.schedule, base, now); !slot.IsZero() {
		if err := r.run(ctx, sched, rn.selector, slot, refused); err != nil {
			sched.Status.NextRunTime = &metav1.Time{Time: nextRun(rn.schedule, slot)}
			r.setReady(sched, metav1.ConditionFalse, storagev1alpha1.ReasonSnapshotFailed, err.Error())
			r.Recorder.Eventf(sched, nil, corev1.EventTypeWarning, storagev1alpha1.ReasonSnapshotFailed, "Snapshot", "%s", err)
			return ctrl.Result{}, err
		}
		sched.Status.LastRunTime = &metav1.Time{Time: slot}
		base = slot
	}
	next := nextRun(rn.schedule, base)
	sched.Status.NextRunTime = &metav1.Time{Time: next}
	expiry, err := r.prune(ctx, sched, now)
	if err != nil {
		return ctrl.Result{}, err
	}
	if len(refused) > 0 {
		reason, msg := refused.summary()
		r.setReady(sched, metav1.ConditionFalse, reason, msg)
		r.Recorder.Eventf(sched, nil, corev1.EventTypeWarning, reason, "Snapshot", "%s", msg)
	} else {
		r.setReady(sched, metav1.ConditionTrue, storagev1alpha1.ReasonScheduled, "next run at "+next.Format(time.RFC3339))
	}
	return ctrl.Result{RequeueAfter: untilEarliest(now, next, expiry)}, nil
}

// untilEarliest is how long from now until the earliest of the given times;
// zero times are ignored.
func untilEarliest(now time.Time, times ...time.Time) time.Duration {
	var earliest time.Time
	for _, t := range times {
		if !t.IsZero() && (earliest.IsZero() || t.Before(earliest)) {
			earliest = t
		}
	}
	return max(earliest.Sub(now), time.Second)
}

// run takes one snapshot of every bound claim the schedule selects, for the
// run scheduled at slot. Snapshots that already exist, from an earlier
// attempt at the same run, are left as they are. Claims that already hold
// too many of the schedule's snapshots, or whose pool is past its reserve,
// are left out and recorded in refused.
func (r *Reconciler) run(ctx context.Context, sched *storagev1alpha1.SnapshotSchedule, sel labels.Selector, slot time.Time, refused refusals) error {
	claims, err := r.selectedClaims(ctx, sched.Namespace, sel)
	if err != nil {
		return err
	}
	snaps, err := r.snapshotsOf(ctx, sched)
	if err != nil {
		return err
	}
	held, retention := claimsSnapshots(snaps), effectiveRetention(sched.Spec.Retention)
	created := 0
	for i := range claims {
		claim := claims[i].Name
		reason, why, err := r.refusal(ctx, &claims[i], held[claim], retention)
		if err != nil {
			return err
		}
		if why != "" {
			refused.add(reason, why)
			continue
		}
		snap := newSnapshot(sched, claim, slot)
		err = r.Client.Create(ctx, snap)
		switch {
		case apierrors.IsAlreadyExists(err):
			continue
		case err != nil:
			return fmt.Errorf("failed to create snapshot %s of claim %s: %w", snap.Name, claim, err)
		}
		created++
		log.FromContext(ctx).Info("created snapshot", "snapshot", snap.Name, "claim", claim, "run", slot)
	}
	if created > 0 {
		r.Recorder.Eventf(sched, nil, corev1.EventTypeNormal, reasonSnapshotsCreated, "Snapshot",
			"created %d snapshots for the run at %s", created, slot.Format(time.RFC3339))
	}
	return nil
}

// selectedClaims lists the bound, live claims of the namespace that sel
// matches: a pending claim has nothing to snapshot yet, and a snapshot
// would hold a terminating claim back.
func (r *Reconciler) selectedClaims(ctx context.Context, namespace string, sel labels.Selector) ([]corev1.PersistentVolumeClaim, error) {
	list := &corev1.PersistentVolumeClaimList{}
	if err := r.Client.List(ctx, list, client.InNamespace(namespace), client.MatchingLabelsSelector{Selector: sel}); err != nil {
		return nil, fmt.Errorf("failed to list claims: %w", err)
	}
	var claims []corev1.PersistentVolumeClaim
	for _, c := range list.Items {
		if c.Status.Phase == corev1.ClaimBound && c.DeletionTimestamp == nil {
			claims = append(claims, c)
		}
	}
	return claims, nil
}

// prune deletes the schedule's snapshots outside its retention, records how
// many it keeps and returns when the next kept one expires.
func (r *Reconciler) prune(ctx context.Context, sched *storagev1alpha1.SnapshotSchedule, now time.Time) (time.Time, error) {
	snaps, err := r.snapshotsOf(ctx, sched)
	if err != nil {
		return time.Time{}, err
	}
	plan := planRetention(snaps, effectiveRetention(sched.Spec.Retention), now)
	for _, s := range plan.prune {
		if err := r.Client.Delete(ctx, s, client.Preconditions{UID: &s.UID}); client.IgnoreNotFound(err) != nil {
			return time.Time{}, fmt.Errorf("failed to delete snapshot %s: %w", s.Name, err)
		}
		log.FromContext(ctx).Info("deleted snapshot", "snapshot", s.Name, "claim", sourceClaim(s), "run", scheduledTime(s))
	}
	if n := len(plan.prune); n > 0 {
		r.Recorder.Eventf(sched, nil, corev1.EventTypeNormal, reasonSnapshotsPruned, "Delete",
			"deleted %d snapshots outside the retention", n)
	}
	sched.Status.Snapshots = int32(len(plan.keep)) //nolint:gosec // bounded by the snapshots of one namespace
	return plan.nextExpiry, nil
}

// refreshCount records how many live snapshots the schedule has, without
// pruning any.
func (r *Reconciler) refreshCount(ctx context.Context, sched *storagev1alpha1.SnapshotSchedule) error {
	snaps, err := r.snapshotsOf(ctx, sched)
	if err != nil {
		return err
	}
	n := int32(0)
	for i := range snaps {
		if snaps[i].DeletionTimestamp == nil {
			n++
		}
	}
	sched.Status.Snapshots = n
	return nil
}

// snapshotsOf lists the snapshots carrying the schedule's label.
func (r *Reconciler) snapshotsOf(ctx context.Context, sched *storagev1alpha1.SnapshotSchedule) ([]snapshotv1.VolumeSnapshot, error) {
	list := &snapshotv1.VolumeSnapshotList{}
	err := r.Client.List(ctx, list, client.InNamespace(sched.Namespace),
		client.MatchingLabels{storagev1alpha1.LabelSchedule: sched.Name})
	if err != nil {
		return nil, fmt.Errorf("failed to list snapshots: %w", err)
	}
	return list.Items, nil
}

// invalid marks the schedule not ready because of its spec and says so in
// an Event.
func (r *Reconciler) invalid(sched *storagev1alpha1.SnapshotSchedule, reason string, err error) {
	r.setReady(sched, metav1.ConditionFalse, reason, err.Error())
	sched.Status.NextRunTime = nil
	r.Recorder.Eventf(sched, nil, corev1.EventTypeWarning, reason, "Validate", "%s", err)
}

// setReady sets the Ready condition for the schedule's current generation.
func (r *Reconciler) setReady(sched *storagev1alpha1.SnapshotSchedule, status metav1.ConditionStatus, reason, msg string) {
	sched.Status.ObservedGeneration = sched.Generation
	meta.SetStatusCondition(&sched.Status.Conditions, metav1.Condition{
		Type:               storagev1alpha1.ScheduleReady,
		Status:             status,
		Reason:             reason,
		Message:            msg,
		ObservedGeneration: sched.Generation,
		LastTransitionTime: metav1.NewTime(r.Clock.Now()),
	})
}

// patchStatus writes the status when it changed. The optimistic lock makes a
// reconcile that started from a stale schedule fail and retry instead of
// rolling the status back.
func (r *Reconciler) patchStatus(ctx context.Context, before, after *storagev1alpha1.SnapshotSchedule) error {
	if equality.Semantic.DeepEqual(before.Status, after.Status) {
		return nil
	}
	if err := r.Client.Status().Patch(ctx, after, objpatch.LockedMerge(before)); err != nil {
		return fmt.Errorf("failed to update the status: %w", err)
	}
	return nil
}
