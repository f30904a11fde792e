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

package snapshotcontent

import (
	"context"
	"fmt"

	"github.com/container-storage-interface/spec/lib/go/csi"
	snapshotv1 "github.com/kubernetes-csi/external-snapshotter/client/v8/apis/volumesnapshot/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"

	"github.com/plinth-dev/plinth/internal/csiconn"
	"github.com/plinth-dev/plinth/internal/objpatch"
	"github.com/plinth-dev/plinth/internal/wellknown"
)

// ReasonSnapshotImported is the Event reason of a pre-provisioned content
// whose snapshot this node holds.
const ReasonSnapshotImported = "SnapshotImported"

// mayHold reports whether a pre-provisioned content (one that names an
// existing snapshot) may be this node's: it names this node, or no node yet.
func (c *Reconciler) mayHold(content *snapshotv1.VolumeSnapshotContent) bool {
	if content.Spec.Driver != c.DriverName || content.Spec.Source.SnapshotHandle == nil {
		return false
	}
	node := content.Annotations[wellknown.AnnNode]
	return node == "" || node == c.NodeName
}

// reconcileImported handles a pre-provisioned content: the node whose pool
// holds the snapshot claims it (so restores land there), records the
// snapshot in its status, and deletes it under the Delete policy.
func (c *Reconciler) reconcileImported(ctx context.Context, content *snapshotv1.VolumeSnapshotContent) error {
	if !c.mayHold(content) {
		return nil
	}
	if !content.DeletionTimestamp.IsZero() {
		return c.cleanUp(ctx, content)
	}
	if content.Status != nil && ptr.Deref(content.Status.ReadyToUse, false) && content.Annotations[wellknown.AnnNode] == c.NodeName {
		return nil
	}
	snap, err := c.findSnapshot(ctx, *content.Spec.Source.SnapshotHandle)
	if err != nil || snap == nil {
		return err // another node's, or a temporary failure
	}
	if err := c.claim(ctx, content); err != nil {
		return err
	}
	return c.recordImported(ctx, content, snap)
}

// findSnapshot returns the snapshot from this node's driver, or nil when the
// pool does not hold it.
func (c *Reconciler) findSnapshot(ctx context.Context, id string) (*csi.Snapshot, error) {
	callCtx, cancel := csiconn.CallContext(ctx)
	defer cancel()
	resp, err := c.Controller.ListSnapshots(callCtx, &csi.ListSnapshotsRequest{SnapshotId: id})
	if err != nil {
		return nil, fmt.Errorf("failed to look up snapshot %s: %w", id, err)
	}
	if len(resp.GetEntries()) == 0 {
		return nil, nil
	}
	return resp.GetEntries()[0].GetSnapshot(), nil
}

// claim marks the content as this node's, in its annotation and in the
// label through which the node may watch its own contents alone, and adds
// the cleanup finalizer.
func (c *Reconciler) claim(ctx context.Context, content *snapshotv1.VolumeSnapshotContent) error {
	if content.Annotations[wellknown.AnnNode] == c.NodeName && content.Labels[wellknown.LabelNode] == wellknown.NodeLabel(c.NodeName) &&
		controllerutil.ContainsFinalizer(content, wellknown.FinalizerSnapshotCleanup) {
		return nil
	}
	base := content.DeepCopy()
	if content.Annotations == nil {
		content.Annotations = map[string]string{}
	}
	if content.Labels == nil {
		content.Labels = map[string]string{}
	}
	content.Annotations[wellknown.AnnNode] = c.NodeName
	content.Labels[wellknown.LabelNode] = wellknown.NodeLabel(c.NodeName)
	controllerutil.AddFinalizer(content, wellknown.FinalizerSnapshotCleanup)
	// The optimistic lock makes two nodes that both hold a snapshot of the
	// same ID (impossible with generated IDs) race safely.
	if err := c.Client.Patch(ctx, content, objpatch.LockedMerge(base)); err != nil {
		return fmt.Errorf("failed to claim content %s: %w", content.Name, err)
	}
	return nil
}

func (c *Reconciler) recordImported(ctx context.Context, content *snapshotv1.VolumeSnapshotContent, snap *csi.Snapshot) error {
	base := content.DeepCopy()
	content.Status = &snapshotv1.VolumeSnapshotContentStatus{
		SnapshotHandle: ptr.To(snap.GetSnapshotId()),
		CreationTime:   ptr.To(snap.GetCreationTime().AsTime().UnixNano()),
		RestoreSize:    ptr.To(snap.GetSizeBytes()),
		ReadyToUse:     ptr.To(snap.GetReadyToUse()),
	}
	if err := c.Client.Status().Patch(ctx, content, client.MergeFrom(base)); err != nil {
		return fmt.Errorf("failed to record imported snapshot: %w", err)
	}
	c.Recorder.Eventf(content, nil, corev1.EventTypeNormal, ReasonSnapshotImported, "Import",
		"Snapshot %s is held by node %s (taken %s)", snap.GetSnapshotId(), c.NodeName, metav1.NewTime(snap.GetCreationTime().AsTime()).String())
	return nil
}
