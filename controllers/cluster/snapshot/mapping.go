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

package snapshot

import (
	"context"

	snapshotv1 "github.com/kubernetes-csi/external-snapshotter/client/v8/apis/volumesnapshot/v1"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	logf "sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
)

// contentToSnapshot enqueues the snapshot a content refers to.
func contentToSnapshot() handler.EventHandler {
	return handler.EnqueueRequestsFromMapFunc(func(_ context.Context, obj client.Object) []reconcile.Request {
		ref := obj.(*snapshotv1.VolumeSnapshotContent).Spec.VolumeSnapshotRef
		if ref.Name == "" {
			return nil
		}
		return []reconcile.Request{{NamespacedName: client.ObjectKey{Namespace: ref.Namespace, Name: ref.Name}}}
	})
}

// claimBecameBound passes only a claim's update into the Bound phase: the
// one change snapshots waiting for the claim need to hear of (at start,
// every snapshot is reconciled anyway).
func claimBecameBound() predicate.Predicate {
	return predicate.Funcs{
		CreateFunc:  func(event.CreateEvent) bool { return false },
		DeleteFunc:  func(event.DeleteEvent) bool { return false },
		GenericFunc: func(event.GenericEvent) bool { return false },
		UpdateFunc: func(e event.UpdateEvent) bool {
			was, is := e.ObjectOld.(*corev1.PersistentVolumeClaim), e.ObjectNew.(*corev1.PersistentVolumeClaim)
			return was.Status.Phase != corev1.ClaimBound && is.Status.Phase == corev1.ClaimBound
		},
	}
}

// claimToWaitingSnapshots enqueues the snapshots of a claim that has just
// been bound which wait for that (they failed with "not bound yet" and
// nothing else would bring them back).
func claimToWaitingSnapshots(c client.Client) handler.EventHandler {
	return handler.EnqueueRequestsFromMapFunc(func(ctx context.Context, obj client.Object) []reconcile.Request {
		pvc := obj.(*corev1.PersistentVolumeClaim)
		list := &snapshotv1.VolumeSnapshotList{}
		if err := c.List(ctx, list, client.InNamespace(pvc.Namespace)); err != nil {
			logf.FromContext(ctx).Error(err, "Failed to list the snapshots waiting for a claim", "claim", pvc.Name)
			return nil
		}
		var reqs []reconcile.Request
		for i := range list.Items {
			vs := &list.Items[i]
			if src := vs.Spec.Source.PersistentVolumeClaimName; src != nil && *src == pvc.Name && !isBound(vs) {
				reqs = append(reqs, reconcile.Request{NamespacedName: client.ObjectKeyFromObject(vs)})
			}
		}
		return reqs
	})
}

// isBound reports whether a snapshot has its content.
func isBound(vs *snapshotv1.VolumeSnapshot) bool {
	return vs.Status != nil && vs.Status.BoundVolumeSnapshotContentName != nil && *vs.Status.BoundVolumeSnapshotContentName != ""
}
