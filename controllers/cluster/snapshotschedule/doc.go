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

// Package snapshotschedule implements the SnapshotSchedule controller: it
// takes a VolumeSnapshot of every bound claim a schedule's selector matches
// each time the schedule's cron expression comes due, and deletes the
// schedule's snapshots that fall outside its retention.
//
// Time comes from an injectable clock and the controller never polls: each
// reconcile computes the latest run due since the last one recorded in the
// status (or since the schedule was created) and asks to be requeued when the
// next run, or the next snapshot's expiry, comes. Runs missed while the
// controller was down, or the schedule suspended, collapse into a single
// catch-up run at the latest missed time.
//
// A snapshot's name is derived from the schedule, the claim and the run's
// scheduled time, so a run retried after a crash finds the snapshots it
// already created instead of taking them twice. Snapshots carry the
// schedule's label and retention only ever looks at labelled snapshots: a
// snapshot someone else took of the same claim is never deleted. Snapshots
// have no owner reference to their schedule on purpose: deleting a schedule
// stops new runs but keeps the backups it took.
//
// Retention works per claim. Snapshots beyond spec.retention.maxCount
// (newest first, by scheduled time) are deleted, and so are snapshots older
// than spec.retention.maxAge, except the newest snapshot of the claim that is
// ready to use: a claim whose recent snapshots keep failing still has its
// last good one. A schedule that sets only maxAge keeps at most
// DefaultMaxCount (100) snapshots of a claim.
//
// Schedules have a floor, since every run freezes and copies every selected
// claim: a schedule that fires more often than the minimum interval
// (DefaultMinInterval, 5 minutes, or plinth-controller's
// --snapshotschedule-min-interval) is refused with an IntervalTooShort Ready
// condition and Event, and the API itself refuses @every intervals under a
// minute. A run skips a claim that already holds more of the schedule's
// snapshots than its retention count (deletions are not keeping up) and a
// claim whose StoragePool has no space left above its reserve (status
// available, or for pools without reflink less than the volume's size); the
// run still counts as taken, and the Ready condition and a Warning Event
// (SnapshotCapReached, PoolPastReserve) say which claims were skipped.
package snapshotschedule
