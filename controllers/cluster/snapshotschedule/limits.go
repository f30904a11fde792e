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
	"fmt"
	"sort"
	"strings"

	snapshotv1 "github.com/kubernetes-csi/external-snapshotter/client/v8/apis/volumesnapshot/v1"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	storagev1alpha1 "github.com/plinth-dev/plinth/apis/storage/v1alpha1"
	"github.com/plinth-dev/plinth/internal/wellknown"
)

// +kubebuilder:rbac:groups="",resources=persistentvolumes,verbs=get;list;watch
// +kubebuilder:rbac:groups=storage.plinth.dev,resources=storagepools,verbs=get;list;watch

// effectiveRetention is the retention a schedule gets: its own, with the
// count bounded by DefaultMaxCount when unset and by MaxMaxCount always.
func effectiveRetention(r storagev1alpha1.SnapshotRetention) storagev1alpha1.SnapshotRetention {
	n := int32(storagev1alpha1.DefaultMaxCount)
	if r.MaxCount != nil {
		n = min(*r.MaxCount, storagev1alpha1.MaxMaxCount)
	}
	r.MaxCount = &n
	return r
}

// refusals collects the claims a run did not snapshot, by reason.
type refusals map[string][]string

func (rf refusals) add(reason, why string) { rf[reason] = append(rf[reason], why) }

// summary returns the first reason (in a stable order) and a message that
// lists every refusal.
func (rf refusals) summary() (string, string) {
	reasons := make([]string, 0, len(rf))
	for r := range rf {
		reasons = append(reasons, r)
	}
	sort.Strings(reasons)
	var msgs []string
	for _, r := range reasons {
		msgs = append(msgs, rf[r]...)
	}
	return reasons[0], strings.Join(msgs, "; ")
}

// claimsSnapshots counts the schedule's snapshots of each claim, those
// being deleted included: they still hold room in the pool.
func claimsSnapshots(snaps []snapshotv1.VolumeSnapshot) map[string]int {
	n := map[string]int{}
	for i := range snaps {
		n[sourceClaim(&snaps[i])]++
	}
	return n
}

// capRefusal says why the claim may not get another snapshot from the
// schedule, "" when it may: after pruning, a claim holds at most maxCount
// snapshots of a schedule, so more than that means deletions are not
// keeping up, and taking more would let them pile up without bound.
func capRefusal(claim string, held int, r storagev1alpha1.SnapshotRetention) string {
	if limit := int(*r.MaxCount); held > limit {
		return fmt.Sprintf("claim %s already has %d snapshots of this schedule, more than its limit of %d (some are still being deleted)", claim, held, limit)
	}
	return ""
}

// refusal returns the reason and explanation why the claim may not be
// snapshotted now, an empty explanation when it may.
func (r *Reconciler) refusal(ctx context.Context, claim *corev1.PersistentVolumeClaim, held int, retention storagev1alpha1.SnapshotRetention) (string, string, error) {
	if why := capRefusal(claim.Name, held, retention); why != "" {
		return storagev1alpha1.ReasonSnapshotCapReached, why, nil
	}
	why, err := r.poolRefusal(ctx, claim)
	return storagev1alpha1.ReasonPoolPastReserve, why, err
}

// poolRefusal says why the pool holding the claim's volume cannot take a
// snapshot, "" when it can: a pool with nothing available (past its
// reserve), or, where snapshots are full copies, less available than the
// volume's size.
func (r *Reconciler) poolRefusal(ctx context.Context, claim *corev1.PersistentVolumeClaim) (string, error) {
	if claim.Spec.VolumeName == "" {
		return "", nil
	}
	pv := &corev1.PersistentVolume{}
	if err := r.Client.Get(ctx, client.ObjectKey{Name: claim.Spec.VolumeName}, pv); err != nil {
		return "", client.IgnoreNotFound(fmt.Errorf("failed to get PV %s: %w", claim.Spec.VolumeName, err))
	}
	node := pv.Annotations[wellknown.AnnNode]
	if node == "" {
		return "", nil // not in a Plinth pool
	}
	pool := &storagev1alpha1.StoragePool{}
	if err := r.Client.Get(ctx, client.ObjectKey{Name: node}, pool); err != nil {
		return "", client.IgnoreNotFound(fmt.Errorf("failed to get the StoragePool of node %s: %w", node, err))
	}
	avail := pool.Status.Available
	if avail == nil {
		return "", nil // not reported yet
	}
	need := int64(1)
	if !pool.Status.Reflink {
		size := pv.Spec.Capacity[corev1.ResourceStorage]
		need = max(size.Value(), 1)
	}
	if avail.Value() < need {
		return fmt.Sprintf("claim %s: the pool of node %s is past its reserve (%s available)", claim.Name, node, avail), nil
	}
	return "", nil
}
