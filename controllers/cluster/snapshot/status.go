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

	snapshotv1 "github.com/kubernetes-csi/external-snapshotter/client/v8/apis/volumesnapshot/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// updateStatus mirrors the content's status into the snapshot's.
func (c *Reconciler) updateStatus(ctx context.Context, vs *snapshotv1.VolumeSnapshot, content *snapshotv1.VolumeSnapshotContent) error {
	desired := statusFrom(content)
	if vs.Status != nil && equality.Semantic.DeepEqual(*vs.Status, desired) {
		return nil
	}
	wasReady := IsReady(vs)
	base := vs.DeepCopy()
	vs.Status = &desired
	if err := c.Client.Status().Patch(ctx, vs, client.MergeFrom(base)); err != nil {
		return fmt.Errorf("failed to update snapshot status: %w", err)
	}
	if !wasReady && IsReady(vs) {
		c.Recorder.Eventf(vs, content, corev1.EventTypeNormal, ReasonSnapshotReady, "Ready",
			"Snapshot %s/%s is ready to use", vs.Namespace, vs.Name)
	}
	if content.Status != nil && content.Status.Error != nil {
		c.Recorder.Eventf(vs, content, corev1.EventTypeWarning, ReasonSnapshotFailed, "Create", "%s", ptr.Deref(content.Status.Error.Message, ""))
	}
	return nil
}

func statusFrom(content *snapshotv1.VolumeSnapshotContent) snapshotv1.VolumeSnapshotStatus {
	st := snapshotv1.VolumeSnapshotStatus{BoundVolumeSnapshotContentName: ptr.To(content.Name), ReadyToUse: ptr.To(false)}
	cs := content.Status
	if cs == nil {
		return st
	}
	st.ReadyToUse = ptr.To(ptr.Deref(cs.ReadyToUse, false))
	st.Error = cs.Error
	if cs.CreationTime != nil {
		// Truncated as the API stores it, so an unchanged status compares equal.
		st.CreationTime = ptr.To(metav1.NewTime(time.Unix(0, *cs.CreationTime)).Rfc3339Copy())
	}
	if cs.RestoreSize != nil {
		st.RestoreSize = resource.NewQuantity(*cs.RestoreSize, resource.BinarySI)
	}
	return st
}

// contentFailed reports whether cutting the content's snapshot failed for good.
func contentFailed(content *snapshotv1.VolumeSnapshotContent) bool {
	return content.Status != nil && content.Status.Error != nil && !ptr.Deref(content.Status.ReadyToUse, false)
}

func newError(msg string) *snapshotv1.VolumeSnapshotError {
	return &snapshotv1.VolumeSnapshotError{Time: ptr.To(metav1.Now()), Message: ptr.To(msg)}
}
