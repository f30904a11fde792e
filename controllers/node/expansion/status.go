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

package expansion

import (
	"context"
	"fmt"
	"slices"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/plinth-dev/plinth/internal/csiconn"
)

// markInProgress records, before the call, what is being allocated. A
// retry of the same size writes nothing: the last error stays in the
// status until the retry's outcome replaces it, so a claim waiting for
// room costs no writes while the error repeats.
func (r *Resizer) markInProgress(ctx context.Context, pvc *corev1.PersistentVolumeClaim, want resource.Quantity) error {
	if retrying(&pvc.Status, want) {
		return nil
	}
	return r.patchStatus(ctx, pvc, func(st *corev1.PersistentVolumeClaimStatus) {
		st.AllocatedResources = corev1.ResourceList{corev1.ResourceStorage: want}
		setResizeStatus(st, corev1.PersistentVolumeClaimControllerResizeInProgress)
		setCondition(st, corev1.PersistentVolumeClaimResizing, "", "")
		removeCondition(st, corev1.PersistentVolumeClaimControllerResizeError)
	})
}

// markControllerDone records the controller side's success: the kubelet
// finishes a filesystem volume, a block volume is done.
func (r *Resizer) markControllerDone(ctx context.Context, pvc *corev1.PersistentVolumeClaim, got resource.Quantity, nodeRequired bool) error {
	return r.patchStatus(ctx, pvc, func(st *corev1.PersistentVolumeClaimStatus) {
		removeCondition(st, corev1.PersistentVolumeClaimResizing)
		removeCondition(st, corev1.PersistentVolumeClaimControllerResizeError) // of a failed try
		if nodeRequired {
			setResizeStatus(st, corev1.PersistentVolumeClaimNodeResizePending)
			setCondition(st, corev1.PersistentVolumeClaimFileSystemResizePending, "",
				"Waiting for user to (re-)start a pod to finish file system resize of volume on node.")
			return
		}
		delete(st.AllocatedResourceStatuses, corev1.ResourceStorage)
		st.Capacity = corev1.ResourceList{corev1.ResourceStorage: got}
	})
}

// markFailed records a failed expansion: an infeasible request (the user
// must change it) is marked so and left; anything else, a full pool
// included, is retried with backoff while the claim keeps
// ControllerResizeInProgress.
func (r *Resizer) markFailed(ctx context.Context, pvc *corev1.PersistentVolumeClaim, callErr error) error {
	r.Recorder.Eventf(pvc, nil, corev1.EventTypeWarning, ReasonResizeFailed, "Resize", "ControllerExpandVolume: %v", callErr)
	err := r.patchStatus(ctx, pvc, func(st *corev1.PersistentVolumeClaimStatus) {
		removeCondition(st, corev1.PersistentVolumeClaimResizing)
		setCondition(st, corev1.PersistentVolumeClaimControllerResizeError, "", callErr.Error())
		if csiconn.IsInfeasible(callErr) {
			setResizeStatus(st, corev1.PersistentVolumeClaimControllerResizeInfeasible)
		}
	})
	if err != nil {
		return err
	}
	if csiconn.IsInfeasible(callErr) {
		return nil // nothing to retry until the claim changes
	}
	return fmt.Errorf("failed to expand volume: %w", callErr)
}

func (r *Resizer) patchStatus(ctx context.Context, pvc *corev1.PersistentVolumeClaim, mutate func(*corev1.PersistentVolumeClaimStatus)) error {
	base := pvc.DeepCopy()
	mutate(&pvc.Status)
	if equality.Semantic.DeepEqual(base.Status, pvc.Status) {
		return nil
	}
	if err := r.Client.Status().Patch(ctx, pvc, client.MergeFrom(base)); err != nil {
		return fmt.Errorf("failed to update claim status: %w", err)
	}
	return nil
}

func setResizeStatus(st *corev1.PersistentVolumeClaimStatus, s corev1.ClaimResourceStatus) {
	if st.AllocatedResourceStatuses == nil {
		st.AllocatedResourceStatuses = map[corev1.ResourceName]corev1.ClaimResourceStatus{}
	}
	st.AllocatedResourceStatuses[corev1.ResourceStorage] = s
}

// setCondition sets a True condition, keeping its transition time when it
// was already True, so that an unchanged status writes nothing new.
func setCondition(st *corev1.PersistentVolumeClaimStatus, t corev1.PersistentVolumeClaimConditionType, reason, msg string) {
	since := metav1.Now()
	for _, c := range st.Conditions {
		if c.Type == t && c.Status == corev1.ConditionTrue {
			since = c.LastTransitionTime
		}
	}
	removeCondition(st, t)
	st.Conditions = append(st.Conditions, corev1.PersistentVolumeClaimCondition{
		Type: t, Status: corev1.ConditionTrue, Reason: reason, Message: msg, LastTransitionTime: since,
	})
}

func removeCondition(st *corev1.PersistentVolumeClaimStatus, t corev1.PersistentVolumeClaimConditionType) {
	kept := st.Conditions[:0]
	for _, c := range st.Conditions {
		if c.Type != t {
			kept = append(kept, c)
		}
	}
	st.Conditions = kept
}

// retrying reports whether the status records a failed attempt to
// allocate want that is being retried.
func retrying(st *corev1.PersistentVolumeClaimStatus, want resource.Quantity) bool {
	allocated := st.AllocatedResources[corev1.ResourceStorage]
	return st.AllocatedResourceStatuses[corev1.ResourceStorage] == corev1.PersistentVolumeClaimControllerResizeInProgress &&
		allocated.Cmp(want) == 0 &&
		slices.ContainsFunc(st.Conditions, func(c corev1.PersistentVolumeClaimCondition) bool {
			return c.Type == corev1.PersistentVolumeClaimControllerResizeError && c.Status == corev1.ConditionTrue
		})
}
