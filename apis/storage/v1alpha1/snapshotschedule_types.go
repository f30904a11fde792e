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

package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Condition types and reasons of a SnapshotSchedule.
const (
	// ScheduleReady is True while the schedule is valid and snapshots are
	// being taken on time.
	ScheduleReady = "Ready"
	// ReasonInvalidSchedule: the cron expression does not parse or never fires.
	ReasonInvalidSchedule = "InvalidSchedule"
	// ReasonInvalidSelector: the claim selector does not convert to a label selector.
	ReasonInvalidSelector = "InvalidSelector"
	// ReasonSnapshotFailed: a snapshot of the last run could not be created.
	ReasonSnapshotFailed = "SnapshotFailed"
	// ReasonScheduled: the schedule runs normally.
	ReasonScheduled = "Scheduled"
	// ReasonSuspended: spec.suspend is set.
	ReasonSuspended = "Suspended"
	// ReasonIntervalTooShort: the schedule fires more often than the
	// controller's minimum interval allows.
	ReasonIntervalTooShort = "IntervalTooShort"
	// ReasonPoolPastReserve: the pool of a selected claim has no room left
	// above its reserve, so the claim was not snapshotted in the last run.
	ReasonPoolPastReserve = "PoolPastReserve"
	// ReasonSnapshotCapReached: a claim already has the most snapshots a
	// schedule may hold of it, so the last run took none of it.
	ReasonSnapshotCapReached = "SnapshotCapReached"
)

// Bounds on the snapshots a schedule keeps of each claim.
const (
	// DefaultMaxCount is the retention count of a schedule that sets only
	// maxAge: no schedule keeps an unbounded number of snapshots.
	DefaultMaxCount = 100
	// MaxMaxCount is the largest retention count, and the number of
	// snapshots of one claim (being deleted or not) past which a schedule
	// takes no more.
	MaxMaxCount = 1000
)

// Labels and annotations a SnapshotSchedule puts on the VolumeSnapshots it
// creates.
const (
	// LabelSchedule marks each VolumeSnapshot a schedule creates with the
	// schedule's name; retention only ever deletes snapshots carrying it.
	LabelSchedule = "storage.plinth.dev/snapshot-schedule"
	// LabelClaim names the snapshot's source claim (shortened with a hash
	// when the claim's name is longer than a label value may be), so that
	// `kubectl get volumesnapshots -l` can find the snapshots of one claim.
	LabelClaim = "storage.plinth.dev/snapshot-claim"
	// AnnotationScheduledTime is the run (RFC 3339, UTC) a snapshot belongs
	// to; retention measures a snapshot's age from it.
	AnnotationScheduledTime = "storage.plinth.dev/scheduled-time"
)

// SnapshotScheduleSpec is the desired behaviour of a SnapshotSchedule.
// +kubebuilder:validation:XValidation:rule="has(self.retention.maxCount) || has(self.retention.maxAge)",message="retention needs maxCount, maxAge or both"
type SnapshotScheduleSpec struct {
	// Selector picks the PersistentVolumeClaims of the schedule's namespace
	// to snapshot. An empty selector matches every claim.
	// +required
	Selector metav1.LabelSelector `json:"selector"`

	// Schedule is a cron expression (five fields, or a descriptor such as
	// @hourly or @every 30m) in UTC. When runs were missed, for instance
	// while the controller was down or the schedule suspended, only the
	// latest missed run is taken. The controller refuses schedules that
	// fire more often than its minimum interval (flag
	// --snapshotschedule-min-interval, 5m by default); the API refuses
	// @every intervals under a minute.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=128
	// +kubebuilder:validation:XValidation:rule="!self.startsWith('TZ=') && !self.startsWith('CRON_TZ=')",message="schedules are in UTC; a time zone prefix is not supported"
	// +kubebuilder:validation:XValidation:rule="!self.startsWith('@every ') || duration(self.substring(7)) >= duration('1m')",message="an @every interval must be at least 1m"
	Schedule string `json:"schedule"`

	// SnapshotClassName is the VolumeSnapshotClass of the snapshots; unset
	// means the cluster's default class.
	// +optional
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	SnapshotClassName *string `json:"snapshotClassName,omitempty"`

	// Retention says which of the schedule's snapshots to keep.
	// +required
	Retention SnapshotRetention `json:"retention"`

	// Suspend stops new runs and retention; existing snapshots are kept.
	// When resumed, a schedule takes at most one run for the runs it missed.
	// +optional
	Suspend bool `json:"suspend,omitempty"`
}

// SnapshotRetention bounds how many snapshots of each claim a schedule keeps
// and for how long. A snapshot is deleted when either bound is exceeded; the
// newest ready snapshot of a claim is never deleted for its age alone.
type SnapshotRetention struct {
	// MaxCount is the number of snapshots kept per claim; unset means 100
	// (DefaultMaxCount), so that maxAge alone never lets snapshots pile up.
	// +optional
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=1000
	MaxCount *int32 `json:"maxCount,omitempty"`

	// MaxAge is how long a snapshot is kept, such as "168h".
	// +optional
	MaxAge *metav1.Duration `json:"maxAge,omitempty"`
}

// SnapshotScheduleStatus is the observed state of a SnapshotSchedule.
type SnapshotScheduleStatus struct {
	// ObservedGeneration is the generation the status describes.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`

	// LastRunTime is the scheduled time of the last run whose snapshots
	// were all created.
	// +optional
	LastRunTime *metav1.Time `json:"lastRunTime,omitempty"`

	// NextRunTime is when snapshots will next be taken.
	// +optional
	NextRunTime *metav1.Time `json:"nextRunTime,omitempty"`

	// Snapshots is the number of snapshots the schedule currently keeps
	// (those carrying its label and not being deleted).
	// +optional
	Snapshots int32 `json:"snapshots,omitempty"`

	// Conditions: Ready.
	// +optional
	// +listType=map
	// +listMapKey=type
	Conditions []metav1.Condition `json:"conditions,omitempty"`
}

// SnapshotSchedule takes VolumeSnapshots of the claims its selector matches
// on a cron schedule, and deletes them by count and age.
//
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:shortName=snapsched,categories=plinth
// +kubebuilder:validation:XValidation:rule="size(self.metadata.name) <= 63",message="the name labels the schedule's snapshots, so it is at most 63 characters"
// +kubebuilder:printcolumn:name="Schedule",type=string,JSONPath=`.spec.schedule`
// +kubebuilder:printcolumn:name="Suspend",type=boolean,JSONPath=`.spec.suspend`
// +kubebuilder:printcolumn:name="Snapshots",type=integer,JSONPath=`.status.snapshots`
// +kubebuilder:printcolumn:name="Last Run",type=date,JSONPath=`.status.lastRunTime`
// +kubebuilder:printcolumn:name="Next Run",type=string,format=date-time,JSONPath=`.status.nextRunTime`
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].status`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type SnapshotSchedule struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// +required
	Spec SnapshotScheduleSpec `json:"spec"`
	// +optional
	Status SnapshotScheduleStatus `json:"status,omitempty"`
}

// SnapshotScheduleList is a list of SnapshotSchedules.
//
// +kubebuilder:object:root=true
type SnapshotScheduleList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []SnapshotSchedule `json:"items"`
}
