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

package storagepool

import (
	"errors"
	"testing"

	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	storagev1alpha1 "github.com/plinth-dev/plinth/apis/storage/v1alpha1"
	"github.com/plinth-dev/plinth/csi-driver/backend/pool"
)

func healthyObservation() observation {
	return observation{
		info:           pool.Info{Filesystem: pool.FilesystemXFS, Reflink: true, CapacityBytes: 4 << 30, UsedBytes: 1 << 30},
		availableBytes: 3 << 30,
		volumes:        2,
		snapshots:      1,
	}
}

func healthyStatus(generation int64) storagev1alpha1.StoragePoolStatus {
	return storagev1alpha1.StoragePoolStatus{
		ObservedGeneration: generation,
		Filesystem:         pool.FilesystemXFS,
		Reflink:            true,
		Capacity:           resource.NewQuantity(4<<30, resource.BinarySI),
		Used:               resource.NewQuantity(1<<30, resource.BinarySI),
		Available:          resource.NewQuantity(3<<30, resource.BinarySI),
		Volumes:            2,
		Snapshots:          1,
	}
}

func TestApplyStatusReportsTheObservationAndReadiness(t *testing.T) {
	for name, tc := range map[string]struct {
		before     storagev1alpha1.StoragePoolStatus
		obs        observation
		want       storagev1alpha1.StoragePoolStatus
		wantReady  metav1.ConditionStatus
		wantReason string
		wantMsg    string
	}{
		"a healthy pool reports every figure": {
			obs: healthyObservation(), want: healthyStatus(3),
			wantReady: metav1.ConditionTrue, wantReason: storagev1alpha1.ReasonPoolHealthy, wantMsg: "The driver's health probe passed",
		},
		"an unavailable pool keeps the figures last seen": {
			before: healthyStatus(2), obs: observation{notReady: "backend is unhealthy: permission denied"}, want: healthyStatus(3),
			wantReady: metav1.ConditionFalse, wantReason: storagev1alpha1.ReasonPoolUnavailable, wantMsg: "backend is unhealthy: permission denied",
		},
		"an unavailable pool never seen before reports only readiness": {
			obs: observation{notReady: "connection refused"}, want: storagev1alpha1.StoragePoolStatus{ObservedGeneration: 3},
			wantReady: metav1.ConditionFalse, wantReason: storagev1alpha1.ReasonPoolUnavailable, wantMsg: "connection refused",
		},
		"an ext4 pool without reflink and an empty pool are reported as such": {
			before: healthyStatus(1),
			obs:    observation{info: pool.Info{Filesystem: pool.FilesystemExt4, CapacityBytes: 1 << 30, UsedBytes: 1 << 20}, availableBytes: 1 << 29},
			want: storagev1alpha1.StoragePoolStatus{
				ObservedGeneration: 3, Filesystem: pool.FilesystemExt4,
				Capacity: resource.NewQuantity(1<<30, resource.BinarySI), Used: resource.NewQuantity(1<<20, resource.BinarySI),
				Available: resource.NewQuantity(1<<29, resource.BinarySI),
			},
			wantReady: metav1.ConditionTrue, wantReason: storagev1alpha1.ReasonPoolHealthy, wantMsg: "The driver's health probe passed",
		},
	} {
		t.Run(name, func(t *testing.T) {
			st := tc.before
			applyStatus(&st, tc.obs, 3)
			ready := meta.FindStatusCondition(st.Conditions, storagev1alpha1.PoolReady)
			if ready == nil || ready.Status != tc.wantReady || ready.Reason != tc.wantReason || ready.Message != tc.wantMsg || ready.ObservedGeneration != 3 {
				t.Errorf("Ready condition = %+v, want %s/%s %q at generation 3", ready, tc.wantReady, tc.wantReason, tc.wantMsg)
			}
			st.Conditions = nil
			if !equality.Semantic.DeepEqual(st, tc.want) {
				t.Errorf("status = %+v, want %+v", st, tc.want)
			}
		})
	}
}

func TestApplyStatusKeepsTheTransitionTimeWhileReadinessHolds(t *testing.T) {
	st := storagev1alpha1.StoragePoolStatus{}
	applyStatus(&st, healthyObservation(), 1)
	since := metav1.NewTime(metav1.Now().Add(-3600e9))
	st.Conditions[0].LastTransitionTime = since
	applyStatus(&st, healthyObservation(), 1)
	if got := st.Conditions[0].LastTransitionTime; !got.Equal(&since) {
		t.Errorf("an unchanged Ready condition moved its transition time to %v", got)
	}
	applyStatus(&st, observation{notReady: "gone"}, 1)
	if got := st.Conditions[0].LastTransitionTime; got.Equal(&since) {
		t.Error("Ready turning False kept the old transition time")
	}
}

func TestCount32ClampsToTheFieldRange(t *testing.T) {
	for _, tc := range []struct {
		in   int
		want int32
	}{{0, 0}, {7, 7}, {1 << 40, 1<<31 - 1}} {
		if got := count32(tc.in); got != tc.want {
			t.Errorf("count32(%d) = %d, want %d", tc.in, got, tc.want)
		}
	}
}

func TestRatioQuantityDefaultsToOneAndKeepsMilliPrecision(t *testing.T) {
	for _, tc := range []struct {
		ratio float64
		want  string
	}{{0, "1"}, {1, "1"}, {2.5, "2500m"}, {100, "100"}} {
		if got := ratioQuantity(tc.ratio); got.Cmp(resource.MustParse(tc.want)) != 0 {
			t.Errorf("ratioQuantity(%v) = %s, want %s", tc.ratio, got, tc.want)
		}
	}
}

func TestCountPagesFollowsTokensAndStopsOnErrors(t *testing.T) {
	pages := map[string]struct {
		n    int
		next string
	}{"": {256, "256"}, "256": {256, "512"}, "512": {3, ""}}
	got, err := countPages(func(token string) (int, string, error) { return pages[token].n, pages[token].next, nil })
	if err != nil || got != 515 {
		t.Errorf("countPages = %d, %v; want 515", got, err)
	}
	failure := errors.New("failed to list volumes: aborted")
	if _, err := countPages(func(token string) (int, string, error) {
		if token != "" {
			return 0, "", failure
		}
		return 1, "1", nil
	}); !errors.Is(err, failure) {
		t.Errorf("countPages error = %v, want %v", err, failure)
	}
}
