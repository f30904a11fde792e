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

	snapshotv1 "github.com/kubernetes-csi/external-snapshotter/client/v8/apis/volumesnapshot/v1"
	"github.com/kubernetes-csi/external-snapshotter/v8/pkg/utils"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"
)

// OrphanContents releases contents whose bound snapshot no longer exists
// (deleted without this controller's finalizer, or replaced by a snapshot
// of the same name): under the Delete policy they are deleted, so nothing
// outlives its API object.
type OrphanContents struct {
	// Client reads contents and snapshots, and releases contents.
	Client client.Client
}

// SetupWithManager registers the sweep for every content.
func (o *OrphanContents) SetupWithManager(mgr ctrl.Manager) error {
	if err := ctrl.NewControllerManagedBy(mgr).Named("volumesnapshotcontent-orphans").For(&snapshotv1.VolumeSnapshotContent{}).Complete(o); err != nil {
		return fmt.Errorf("failed to set up the orphan content sweep: %w", err)
	}
	return nil
}

// Reconcile checks one content's snapshot.
func (o *OrphanContents) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	content := &snapshotv1.VolumeSnapshotContent{}
	if err := o.Client.Get(ctx, req.NamespacedName, content); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	ref := content.Spec.VolumeSnapshotRef
	if !controllerutil.ContainsFinalizer(content, utils.VolumeSnapshotContentFinalizer) || ref.UID == "" {
		return ctrl.Result{}, nil
	}
	vs := &snapshotv1.VolumeSnapshot{}
	err := o.Client.Get(ctx, client.ObjectKey{Namespace: ref.Namespace, Name: ref.Name}, vs)
	if err != nil && !apierrors.IsNotFound(err) {
		return ctrl.Result{}, fmt.Errorf("failed to get snapshot %s/%s: %w", ref.Namespace, ref.Name, err)
	}
	if err == nil && vs.UID == ref.UID {
		return ctrl.Result{}, nil
	}
	return ctrl.Result{}, releaseContent(ctx, o.Client, content)
}
