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
	"slices"
	"time"

	snapshotv1 "github.com/kubernetes-csi/external-snapshotter/client/v8/apis/volumesnapshot/v1"

	storagev1alpha1 "github.com/plinth-dev/plinth/apis/storage/v1alpha1"
)

// retentionPlan splits a schedule's snapshots into those to delete and those
// to keep, and says when the next kept snapshot outlives maxAge.
type retentionPlan struct {
	prune []*snapshotv1.VolumeSnapshot
	keep  []*snapshotv1.VolumeSnapshot
	// nextExpiry is when the oldest kept snapshot that age alone could
	// remove passes maxAge; zero when none can.
	nextExpiry time.Time
}

// planRetention applies a retention policy to a schedule's snapshots, claim
// by claim. Snapshots already being deleted are neither kept nor pruned.
func planRetention(snaps []snapshotv1.VolumeSnapshot, r storagev1alpha1.SnapshotRetention, now time.Time) retentionPlan {
	var plan retentionPlan
	for _, group := range byClaim(snaps) {
		plan.add(group, r, now)
	}
	return plan
}

// byClaim groups the live snapshots by source claim, each group newest
// first.
func byClaim(snaps []snapshotv1.VolumeSnapshot) map[string][]*snapshotv1.VolumeSnapshot {
	groups := map[string][]*snapshotv1.VolumeSnapshot{}
	for i := range snaps {
		s := &snaps[i]
		if s.DeletionTimestamp == nil {
			groups[sourceClaim(s)] = append(groups[sourceClaim(s)], s)
		}
	}
	for _, g := range groups {
		slices.SortFunc(g, newestFirst)
	}
	return groups
}

// newestFirst orders snapshots by scheduled time, newest first, then by name.
func newestFirst(a, b *snapshotv1.VolumeSnapshot) int {
	if c := scheduledTime(b).Compare(scheduledTime(a)); c != 0 {
		return c
	}
	return cmp.Compare(a.Name, b.Name)
}

// add plans one claim's snapshots, given newest first.
func (p *retentionPlan) add(group []*snapshotv1.VolumeSnapshot, r storagev1alpha1.SnapshotRetention, now time.Time) {
	newestReady := slices.IndexFunc(group, isReady)
	for i, s := range group {
		overCount := r.MaxCount != nil && i >= int(*r.MaxCount)
		ageBound := r.MaxAge != nil && i != newestReady
		if overCount || ageBound && !now.Before(expiry(s, r)) {
			p.prune = append(p.prune, s)
			continue
		}
		p.keep = append(p.keep, s)
		if ageBound {
			p.noteExpiry(expiry(s, r))
		}
	}
}

// expiry is when a snapshot outlives maxAge.
func expiry(s *snapshotv1.VolumeSnapshot, r storagev1alpha1.SnapshotRetention) time.Time {
	return scheduledTime(s).Add(r.MaxAge.Duration)
}

// noteExpiry keeps the earliest expiry.
func (p *retentionPlan) noteExpiry(t time.Time) {
	if p.nextExpiry.IsZero() || t.Before(p.nextExpiry) {
		p.nextExpiry = t
	}
}
