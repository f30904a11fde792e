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
	"strings"
	"testing"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	storagev1alpha1 "github.com/plinth-dev/plinth/apis/storage/v1alpha1"
)

// TestTheAPIRejectsSchedulesTheControllerCannotHonour pins the CRD's
// validation: what it lets through, the controller can label and run.
func TestTheAPIRejectsSchedulesTheControllerCannotHonour(t *testing.T) {
	c, ns := newClient(t)
	for _, tc := range []struct {
		name string
		edit func(*storagev1alpha1.SnapshotSchedule)
	}{
		{"a name too long for a label value", func(s *storagev1alpha1.SnapshotSchedule) { s.Name = strings.Repeat("n", 64) }},
		{"a time zone prefix", func(s *storagev1alpha1.SnapshotSchedule) { s.Spec.Schedule = "TZ=Europe/Paris 0 * * * *" }},
		{"an empty snapshot class", func(s *storagev1alpha1.SnapshotSchedule) { s.Spec.SnapshotClassName = ptr.To("") }},
		{"no retention bound", func(s *storagev1alpha1.SnapshotSchedule) { s.Spec.Retention = storagev1alpha1.SnapshotRetention{} }},
		{"an @every of one second", func(s *storagev1alpha1.SnapshotSchedule) { s.Spec.Schedule = "@every 1s" }},
		{"an @every of zero", func(s *storagev1alpha1.SnapshotSchedule) { s.Spec.Schedule = "@every 0s" }},
		{"a negative @every", func(s *storagev1alpha1.SnapshotSchedule) { s.Spec.Schedule = "@every -5s" }},
		{"a retention count over the cap", func(s *storagev1alpha1.SnapshotSchedule) { s.Spec.Retention.MaxCount = ptr.To[int32](1001) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sched := &storagev1alpha1.SnapshotSchedule{
				ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "valid"},
				Spec: storagev1alpha1.SnapshotScheduleSpec{
					Schedule:  "@daily",
					Retention: storagev1alpha1.SnapshotRetention{MaxCount: ptr.To[int32](7)},
				},
			}
			tc.edit(sched)
			if err := c.Create(context.Background(), sched); !apierrors.IsInvalid(err) {
				t.Errorf("Create: err = %v, want Invalid", err)
			}
		})
	}
}
