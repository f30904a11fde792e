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
	"fmt"
	"time"

	"github.com/kubernetes-csi/external-snapshotter/v8/pkg/utils"

	"github.com/plinth-dev/plinth/internal/objpatch"
	"github.com/plinth-dev/plinth/internal/wellknown"

	snapshotv1 "github.com/kubernetes-csi/external-snapshotter/client/v8/apis/volumesnapshot/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"
)

// finalize applies the deletion policy of a snapshot being deleted: its
// content (and through the content controller the physical snapshot) goes
// with it under Delete and stays under Retain. A snapshot that a claim is
// still being restored from waits.
func (c *Reconciler) finalize(ctx context.Context, vs *snapshotv1.VolumeSnapshot) (ctrl.Result, error) {
	restoring, err := c.restoringClaims(ctx, vs)
	if err != nil {
		return ctrl.Result{}, err
	}
	if restoring != "" {
		c.Recorder.Eventf(vs, nil, corev1.EventTypeNormal, ReasonSnapshotDeletePended, "Delete",
			"Snapshot is the source of claim %s, which is still being restored", restoring)
		// Claims are not watched here: look again once the restore had time.
		return ctrl.Result{RequeueAfter: restoreRecheck}, nil
	}
	if err := c.releaseContent(ctx, vs); err != nil {
		return ctrl.Result{}, err
	}
	if err := c.releaseClaim(ctx, vs); err != nil {
		return ctrl.Result{}, err
	}
	base := vs.DeepCopy()
	controllerutil.RemoveFinalizer(vs, utils.VolumeSnapshotBoundFinalizer)
	controllerutil.RemoveFinalizer(vs, utils.VolumeSnapshotAsSourceFinalizer)
	if err := c.Client.Patch(ctx, vs, objpatch.LockedMerge(base)); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(fmt.Errorf("failed to remove snapshot finalizers: %w", err))
	}
	return ctrl.Result{}, nil
}

// restoreRecheck is how often a snapshot being deleted checks whether the
// claims restored from it are done.
const restoreRecheck = 5 * time.Second

// restoringClaims returns the name of a claim of the namespace that is being
// restored from the snapshot (not bound yet), or "".
func (c *Reconciler) restoringClaims(ctx context.Context, vs *snapshotv1.VolumeSnapshot) (string, error) {
	claims := &corev1.PersistentVolumeClaimList{}
	if err := c.Client.List(ctx, claims, client.InNamespace(vs.Namespace)); err != nil {
		return "", fmt.Errorf("failed to list claims: %w", err)
	}
	for _, pvc := range claims.Items {
		if pvc.Status.Phase == corev1.ClaimPending && restoresFrom(&pvc, vs.Name) {
			return pvc.Name, nil
		}
	}
	return "", nil
}

func restoresFrom(pvc *corev1.PersistentVolumeClaim, snapshot string) bool {
	if ref := pvc.Spec.DataSourceRef; ref != nil {
		return ptr.Deref(ref.APIGroup, "") == snapshotv1.GroupName && ref.Kind == "VolumeSnapshot" && ref.Name == snapshot
	}
	ref := pvc.Spec.DataSource
	return ref != nil && ptr.Deref(ref.APIGroup, "") == snapshotv1.GroupName && ref.Kind == "VolumeSnapshot" && ref.Name == snapshot
}

// releaseContent lets go of the bound content: deleted under the Delete
// policy, kept (unbound) under Retain.
func (c *Reconciler) releaseContent(ctx context.Context, vs *snapshotv1.VolumeSnapshot) error {
	name := wellknown.SnapshotContentName(string(vs.UID))
	if n := vs.Spec.Source.VolumeSnapshotContentName; n != nil {
		name = *n
	}
	content := &snapshotv1.VolumeSnapshotContent{}
	if err := c.Client.Get(ctx, client.ObjectKey{Name: name}, content); err != nil {
		return client.IgnoreNotFound(fmt.Errorf("failed to get content %s: %w", name, err))
	}
	if content.Spec.VolumeSnapshotRef.UID != vs.UID {
		return nil // not ours to release
	}
	return releaseContent(ctx, c.Client, content)
}

// releaseContent removes the bound-protection finalizer from a content whose
// snapshot is gone and, under the Delete policy, deletes it.
func releaseContent(ctx context.Context, cl client.Client, content *snapshotv1.VolumeSnapshotContent) error {
	deleteIt := content.Spec.DeletionPolicy == snapshotv1.VolumeSnapshotContentDelete
	base := content.DeepCopy()
	controllerutil.RemoveFinalizer(content, utils.VolumeSnapshotContentFinalizer)
	if deleteIt {
		if content.Annotations == nil {
			content.Annotations = map[string]string{}
		}
		content.Annotations[utils.AnnVolumeSnapshotBeingDeleted] = "yes"
	}
	if err := cl.Patch(ctx, content, objpatch.LockedMerge(base)); err != nil {
		return client.IgnoreNotFound(fmt.Errorf("failed to release content %s: %w", content.Name, err))
	}
	if !deleteIt {
		return nil
	}
	if err := cl.Delete(ctx, content); err != nil {
		return client.IgnoreNotFound(fmt.Errorf("failed to delete content %s: %w", content.Name, err))
	}
	return nil
}

// releaseClaim removes the source protection from the snapshot's claim once
// no other snapshot of it is still being cut.
func (c *Reconciler) releaseClaim(ctx context.Context, vs *snapshotv1.VolumeSnapshot) error {
	name := ptr.Deref(vs.Spec.Source.PersistentVolumeClaimName, "")
	if name == "" {
		return nil
	}
	pvc := &corev1.PersistentVolumeClaim{}
	if err := c.Client.Get(ctx, client.ObjectKey{Namespace: vs.Namespace, Name: name}, pvc); err != nil {
		return client.IgnoreNotFound(fmt.Errorf("failed to get claim %s: %w", name, err))
	}
	if !controllerutil.ContainsFinalizer(pvc, utils.PVCFinalizer) {
		return nil
	}
	if busy, err := c.otherSnapshotInProgress(ctx, vs, name); busy || err != nil {
		return err
	}
	// Removed without an optimistic lock, like protectClaim adds it.
	if err := c.Client.Patch(ctx, pvc, objpatch.DropFinalizer(pvc, utils.PVCFinalizer)); err != nil {
		return client.IgnoreNotFound(fmt.Errorf("failed to release claim %s: %w", name, err))
	}
	return nil
}

// otherSnapshotInProgress reports whether another snapshot of the claim is
// still being cut.
func (c *Reconciler) otherSnapshotInProgress(ctx context.Context, vs *snapshotv1.VolumeSnapshot, claim string) (bool, error) {
	list := &snapshotv1.VolumeSnapshotList{}
	if err := c.Client.List(ctx, list, client.InNamespace(vs.Namespace)); err != nil {
		return false, fmt.Errorf("failed to list snapshots: %w", err)
	}
	for i := range list.Items {
		other := &list.Items[i]
		if other.UID == vs.UID || ptr.Deref(other.Spec.Source.PersistentVolumeClaimName, "") != claim {
			continue
		}
		failed := other.Status != nil && other.Status.Error != nil
		if !IsReady(other) && !failed && other.DeletionTimestamp.IsZero() {
			return true, nil
		}
	}
	return false, nil
}
