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
	"slices"
	"testing"
	"time"

	snapshotv1 "github.com/kubernetes-csi/external-snapshotter/client/v8/apis/volumesnapshot/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	storagev1alpha1 "github.com/plinth-dev/plinth/apis/storage/v1alpha1"
)

// snap is a snapshot of claim taken for the run at hour h of 2026-11-22.
type snap struct {
	claim    string
	hour     int
	ready    bool
	deleting bool
}

func (s snap) build() snapshotv1.VolumeSnapshot {
	slot := time.Date(2026, 11, 22, s.hour, 0, 0, 0, time.UTC)
	sched := &storagev1alpha1.SnapshotSchedule{ObjectMeta: metav1.ObjectMeta{Name: "s", Namespace: "ns"}}
	vs := newSnapshot(sched, s.claim, slot)
	vs.Status = &snapshotv1.VolumeSnapshotStatus{ReadyToUse: ptr.To(s.ready)}
	if s.deleting {
		vs.DeletionTimestamp = &metav1.Time{Time: slot}
	}
	return *vs
}

func TestPlanRetention(t *testing.T) {
	hours := func(h int) *metav1.Duration { return &metav1.Duration{Duration: time.Duration(h) * time.Hour} }
	now := time.Date(2026, 11, 22, 10, 30, 0, 0, time.UTC)
	for _, tc := range []struct {
		name       string
		retention  storagev1alpha1.SnapshotRetention
		snaps      []snap
		pruned     []snap
		nextExpiry time.Time
	}{
		{
			name:      "count keeps the newest per claim",
			retention: storagev1alpha1.SnapshotRetention{MaxCount: ptr.To[int32](2)},
			snaps:     []snap{{"a", 7, true, false}, {"a", 9, true, false}, {"a", 8, true, false}, {"b", 7, true, false}, {"b", 8, true, false}},
			pruned:    []snap{{"a", 7, true, false}},
		},
		{
			name:       "age deletes what is older than maxAge",
			retention:  storagev1alpha1.SnapshotRetention{MaxAge: hours(2)},
			snaps:      []snap{{"a", 7, true, false}, {"a", 8, true, false}, {"a", 9, true, false}, {"a", 10, true, false}},
			pruned:     []snap{{"a", 7, true, false}, {"a", 8, true, false}},
			nextExpiry: time.Date(2026, 11, 22, 11, 0, 0, 0, time.UTC),
		},
		{
			name:      "age never deletes the newest ready snapshot",
			retention: storagev1alpha1.SnapshotRetention{MaxAge: hours(2)},
			snaps:     []snap{{"a", 6, true, false}, {"a", 7, true, false}, {"a", 9, false, false}, {"a", 10, false, false}},
			pruned:    []snap{{"a", 6, true, false}},
			// 9:00 expires first; 7:00 is protected while it is the newest ready one.
			nextExpiry: time.Date(2026, 11, 22, 11, 0, 0, 0, time.UTC),
		},
		{
			name:       "a claim without a ready snapshot loses its old ones",
			retention:  storagev1alpha1.SnapshotRetention{MaxAge: hours(1)},
			snaps:      []snap{{"a", 8, false, false}, {"a", 10, false, false}},
			pruned:     []snap{{"a", 8, false, false}},
			nextExpiry: time.Date(2026, 11, 22, 11, 0, 0, 0, time.UTC),
		},
		{
			name:       "count and age together",
			retention:  storagev1alpha1.SnapshotRetention{MaxCount: ptr.To[int32](3), MaxAge: hours(3)},
			snaps:      []snap{{"a", 5, true, false}, {"a", 6, true, false}, {"a", 8, true, false}, {"a", 9, true, false}, {"a", 10, true, false}},
			pruned:     []snap{{"a", 5, true, false}, {"a", 6, true, false}},
			nextExpiry: time.Date(2026, 11, 22, 11, 0, 0, 0, time.UTC),
		},
		{
			name:      "snapshots being deleted are neither kept nor pruned",
			retention: storagev1alpha1.SnapshotRetention{MaxCount: ptr.To[int32](1)},
			snaps:     []snap{{"a", 10, false, true}, {"a", 9, true, false}, {"a", 8, true, true}},
			pruned:    nil,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var snaps []snapshotv1.VolumeSnapshot
			for _, s := range tc.snaps {
				snaps = append(snaps, s.build())
			}
			plan := planRetention(snaps, tc.retention, now)
			if got, want := names(plan.prune), buildNames(tc.pruned); !slices.Equal(got, want) {
				t.Errorf("pruned %v, want %v", got, want)
			}
			live := 0
			for _, s := range tc.snaps {
				if !s.deleting {
					live++
				}
			}
			if len(plan.keep)+len(plan.prune) != live {
				t.Errorf("kept %d and pruned %d of %d live snapshots", len(plan.keep), len(plan.prune), live)
			}
			if !plan.nextExpiry.Equal(tc.nextExpiry) {
				t.Errorf("next expiry %v, want %v", plan.nextExpiry, tc.nextExpiry)
			}
		})
	}
}

func names(snaps []*snapshotv1.VolumeSnapshot) []string {
	var out []string
	for _, s := range snaps {
		out = append(out, s.Name)
	}
	slices.Sort(out)
	return out
}

func buildNames(snaps []snap) []string {
	var out []string
	for _, s := range snaps {
		vs := s.build()
		out = append(out, vs.Name)
	}
	slices.Sort(out)
	return out
}
