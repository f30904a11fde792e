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
	"context"
	"fmt"
	"math"

	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	storagev1alpha1 "github.com/plinth-dev/plinth/apis/storage/v1alpha1"
)

// applyStatus writes an observation into a pool's status. An unhealthy pool
// only turns Ready False: the figures last seen are kept, since a pool that
// cannot be read has not become empty.
func applyStatus(st *storagev1alpha1.StoragePoolStatus, obs observation, generation int64) {
	st.ObservedGeneration = generation
	if obs.notReady != "" {
		setReady(st, generation, metav1.ConditionFalse, storagev1alpha1.ReasonPoolUnavailable, obs.notReady)
		return
	}
	st.Filesystem = obs.info.Filesystem
	st.Reflink = obs.info.Reflink
	st.Capacity = bytesQuantity(obs.info.CapacityBytes)
	st.Used = bytesQuantity(obs.info.UsedBytes)
	st.Available = bytesQuantity(obs.availableBytes)
	st.Volumes = count32(obs.volumes)
	st.Snapshots = count32(obs.snapshots)
	setReady(st, generation, metav1.ConditionTrue, storagev1alpha1.ReasonPoolHealthy, "The driver's health probe passed")
}

func setReady(st *storagev1alpha1.StoragePoolStatus, generation int64, status metav1.ConditionStatus, reason, msg string) {
	meta.SetStatusCondition(&st.Conditions, metav1.Condition{
		Type:               storagev1alpha1.PoolReady,
		Status:             status,
		Reason:             reason,
		Message:            msg,
		ObservedGeneration: generation,
	})
}

func bytesQuantity(n int64) *resource.Quantity {
	return resource.NewQuantity(n, resource.BinarySI)
}

func count32(n int) int32 {
	return int32(min(n, math.MaxInt32)) //nolint:gosec // clamped
}

// updateStatus writes the observation into the pool's status when it changed.
func (r *Reconciler) updateStatus(ctx context.Context, sp *storagev1alpha1.StoragePool, obs observation) error {
	base := sp.DeepCopy()
	applyStatus(&sp.Status, obs, sp.Generation)
	if equality.Semantic.DeepEqual(base.Status, sp.Status) {
		return nil
	}
	if err := r.Client.Status().Patch(ctx, sp, client.MergeFrom(base)); err != nil {
		return fmt.Errorf("failed to update the status of StoragePool %s: %w", sp.Name, err)
	}
	return nil
}
