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
	"crypto/sha256"
	"encoding/hex"
	"time"

	snapshotv1 "github.com/kubernetes-csi/external-snapshotter/client/v8/apis/volumesnapshot/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation"

	storagev1alpha1 "github.com/plinth-dev/plinth/apis/storage/v1alpha1"
)

// slotFormat renders a run's scheduled time in snapshot names.
const slotFormat = "20060102150405"

// hashLen is the number of hex digits of the hash in names and labels.
const hashLen = 8

// snapshotName is the name of the snapshot a schedule takes of a claim for
// the run scheduled at slot. The hash of schedule and claim keeps the name
// unique where the dashes alone would be ambiguous ("a" with "b-c" and "a-b"
// with "c"), and stands in for whatever a long name loses to truncation.
func snapshotName(schedule, claim string, slot time.Time) string {
	suffix := "-" + slot.UTC().Format(slotFormat) + "-" + shortHash(schedule+"/"+claim)
	prefix := schedule + "-" + claim
	if room := validation.DNS1123SubdomainMaxLength - len(suffix); len(prefix) > room {
		prefix = prefix[:room]
	}
	return prefix + suffix
}

// claimLabelValue is the claim's name as a label value: the name itself when
// it fits, otherwise a prefix and a hash.
func claimLabelValue(claim string) string {
	if len(claim) <= validation.LabelValueMaxLength {
		return claim
	}
	return claim[:validation.LabelValueMaxLength-hashLen-1] + "-" + shortHash(claim)
}

// shortHash is a short, stable digest of s.
func shortHash(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])[:hashLen]
}

// newSnapshot builds the snapshot a schedule takes of a claim for the run
// scheduled at slot.
func newSnapshot(sched *storagev1alpha1.SnapshotSchedule, claim string, slot time.Time) *snapshotv1.VolumeSnapshot {
	return &snapshotv1.VolumeSnapshot{
		ObjectMeta: metav1.ObjectMeta{
			Namespace: sched.Namespace,
			Name:      snapshotName(sched.Name, claim, slot),
			Labels: map[string]string{
				storagev1alpha1.LabelSchedule: sched.Name,
				storagev1alpha1.LabelClaim:    claimLabelValue(claim),
			},
			Annotations: map[string]string{
				storagev1alpha1.AnnotationScheduledTime: slot.UTC().Format(time.RFC3339),
			},
		},
		Spec: snapshotv1.VolumeSnapshotSpec{
			Source:                  snapshotv1.VolumeSnapshotSource{PersistentVolumeClaimName: &claim},
			VolumeSnapshotClassName: sched.Spec.SnapshotClassName,
		},
	}
}

// scheduledTime is the run a snapshot belongs to, or its creation time when
// the annotation is missing or unreadable.
func scheduledTime(s *snapshotv1.VolumeSnapshot) time.Time {
	if t, err := time.Parse(time.RFC3339, s.Annotations[storagev1alpha1.AnnotationScheduledTime]); err == nil {
		return t
	}
	return s.CreationTimestamp.Time
}

// sourceClaim is the claim a snapshot was taken of, or "" for a snapshot of
// pre-provisioned content.
func sourceClaim(s *snapshotv1.VolumeSnapshot) string {
	if c := s.Spec.Source.PersistentVolumeClaimName; c != nil {
		return *c
	}
	return ""
}

// isReady reports whether a snapshot is ready to be restored from.
func isReady(s *snapshotv1.VolumeSnapshot) bool {
	return s.Status != nil && s.Status.ReadyToUse != nil && *s.Status.ReadyToUse
}
