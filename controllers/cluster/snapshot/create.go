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

	"github.com/kubernetes-csi/external-snapshotter/v8/pkg/utils"

	"github.com/plinth-dev/plinth/internal/objpatch"
	"github.com/plinth-dev/plinth/internal/wellknown"

	snapshotv1 "github.com/kubernetes-csi/external-snapshotter/client/v8/apis/volumesnapshot/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"
)

// pvNodeAnnotation names, on a PV provisioned by Plinth, the node whose pool
// holds the volume (see package provisioning).
const pvNodeAnnotation = "storage.plinth.dev/node"

// createContent creates the content of a dynamic snapshot of a bound claim,
// after protecting the claim for the time the snapshot is being cut.
func (c *Reconciler) createContent(ctx context.Context, vs *snapshotv1.VolumeSnapshot) (*snapshotv1.VolumeSnapshotContent, error) {
	pvc, pv, err := c.sourceVolume(ctx, vs)
	if err != nil || pv == nil {
		return nil, err
	}
	class, err := c.snapshotClass(ctx, vs, pv.Spec.CSI.Driver)
	if err != nil || class == nil {
		return nil, err
	}
	defaulted := ""
	if ptr.Deref(vs.Spec.VolumeSnapshotClassName, "") == "" {
		defaulted = class.Name
	}
	if err := c.addFinalizers(ctx, vs, defaulted); err != nil {
		return nil, err
	}
	if err := c.protectClaim(ctx, pvc); err != nil {
		return nil, err
	}
	content := newContent(vs, pv, class)
	if err := c.Client.Create(ctx, content); err != nil && !apierrors.IsAlreadyExists(err) {
		return nil, fmt.Errorf("failed to create content %s: %w", content.Name, err)
	}
	c.Recorder.Eventf(vs, content, corev1.EventTypeNormal, ReasonCreatingSnapshot, "Create",
		"Waiting for a snapshot of claim %s to be cut on node %s", pvc.Name, content.Annotations[wellknown.AnnNode])
	return content, nil
}

// sourceVolume returns the bound claim and PV a dynamic snapshot is taken of.
func (c *Reconciler) sourceVolume(ctx context.Context, vs *snapshotv1.VolumeSnapshot) (*corev1.PersistentVolumeClaim, *corev1.PersistentVolume, error) {
	name := ptr.Deref(vs.Spec.Source.PersistentVolumeClaimName, "")
	pvc := &corev1.PersistentVolumeClaim{}
	if err := c.Client.Get(ctx, client.ObjectKey{Namespace: vs.Namespace, Name: name}, pvc); err != nil {
		if apierrors.IsNotFound(err) {
			return nil, nil, c.fail(ctx, vs, ReasonSnapshotPending, fmt.Sprintf("PersistentVolumeClaim %s not found", name))
		}
		return nil, nil, fmt.Errorf("failed to get claim %s: %w", name, err)
	}
	if pvc.Status.Phase != corev1.ClaimBound || pvc.Spec.VolumeName == "" {
		return nil, nil, c.fail(ctx, vs, ReasonSnapshotPending, fmt.Sprintf("PersistentVolumeClaim %s is not bound yet", name))
	}
	pv := &corev1.PersistentVolume{}
	if err := c.Client.Get(ctx, client.ObjectKey{Name: pvc.Spec.VolumeName}, pv); err != nil {
		return nil, nil, fmt.Errorf("failed to get PV %s: %w", pvc.Spec.VolumeName, err)
	}
	if pv.Spec.CSI == nil {
		return nil, nil, c.fail(ctx, vs, ReasonSnapshotFailed, fmt.Sprintf("PersistentVolumeClaim %s is not a CSI volume", name))
	}
	return pvc, pv, nil
}

// snapshotClass returns the snapshot's class, or the driver's default class
// when it names none.
func (c *Reconciler) snapshotClass(ctx context.Context, vs *snapshotv1.VolumeSnapshot, driver string) (*snapshotv1.VolumeSnapshotClass, error) {
	if name := ptr.Deref(vs.Spec.VolumeSnapshotClassName, ""); name != "" {
		class := &snapshotv1.VolumeSnapshotClass{}
		if err := c.Client.Get(ctx, client.ObjectKey{Name: name}, class); err != nil {
			if apierrors.IsNotFound(err) {
				return nil, c.fail(ctx, vs, ReasonSnapshotFailed, fmt.Sprintf("VolumeSnapshotClass %s not found", name))
			}
			return nil, fmt.Errorf("failed to get snapshot class %s: %w", name, err)
		}
		if class.Driver != driver {
			return nil, c.fail(ctx, vs, ReasonSnapshotFailed, fmt.Sprintf("VolumeSnapshotClass %s is for driver %s, the volume is %s's", name, class.Driver, driver))
		}
		return class, nil
	}
	class, err := c.defaultClass(ctx, driver)
	if err == nil && class == nil {
		err = c.fail(ctx, vs, ReasonSnapshotFailed, fmt.Sprintf("no single default VolumeSnapshotClass for driver %s", driver))
	}
	return class, err
}

// defaultClass returns the driver's one default class, or nil when there is
// none or more than one.
func (c *Reconciler) defaultClass(ctx context.Context, driver string) (*snapshotv1.VolumeSnapshotClass, error) {
	classes := &snapshotv1.VolumeSnapshotClassList{}
	if err := c.Client.List(ctx, classes); err != nil {
		return nil, fmt.Errorf("failed to list snapshot classes: %w", err)
	}
	var found *snapshotv1.VolumeSnapshotClass
	for i := range classes.Items {
		class := &classes.Items[i]
		if class.Driver != driver || class.Annotations[utils.IsDefaultSnapshotClassAnnotation] != "true" {
			continue
		}
		if found != nil {
			return nil, nil
		}
		found = class
	}
	return found, nil
}

// protectClaim keeps the source claim until its snapshot is cut. The
// finalizer is merged in, without an optimistic lock: the many snapshots of
// one claim in a burst, each reading the claim before another's write
// reached the cache, add it without conflicting with each other (or with
// the claim's binding), and it is written once per claim.
func (c *Reconciler) protectClaim(ctx context.Context, pvc *corev1.PersistentVolumeClaim) error {
	if controllerutil.ContainsFinalizer(pvc, utils.PVCFinalizer) {
		return nil
	}
	if err := c.Client.Patch(ctx, pvc, objpatch.AddFinalizer(pvc, utils.PVCFinalizer, nil)); err != nil {
		return fmt.Errorf("failed to protect claim %s: %w", pvc.Name, err)
	}
	return nil
}

func newContent(vs *snapshotv1.VolumeSnapshot, pv *corev1.PersistentVolume, class *snapshotv1.VolumeSnapshotClass) *snapshotv1.VolumeSnapshotContent {
	mode := ptr.Deref(pv.Spec.VolumeMode, corev1.PersistentVolumeFilesystem)
	content := &snapshotv1.VolumeSnapshotContent{
		ObjectMeta: metav1.ObjectMeta{
			Name:       wellknown.SnapshotContentName(string(vs.UID)),
			Finalizers: []string{utils.VolumeSnapshotContentFinalizer},
		},
		Spec: snapshotv1.VolumeSnapshotContentSpec{
			VolumeSnapshotRef: corev1.ObjectReference{
				Kind: "VolumeSnapshot", APIVersion: snapshotv1.SchemeGroupVersion.String(),
				Namespace: vs.Namespace, Name: vs.Name, UID: vs.UID,
			},
			DeletionPolicy:          class.DeletionPolicy,
			Driver:                  class.Driver,
			VolumeSnapshotClassName: &class.Name,
			Source:                  snapshotv1.VolumeSnapshotContentSource{VolumeHandle: &pv.Spec.CSI.VolumeHandle},
			SourceVolumeMode:        &mode,
		},
	}
	if node := pv.Annotations[pvNodeAnnotation]; node != "" {
		// The node's intent comes with the content, saving its plinth-node
		// a write per snapshot: a snapshot may be cut from now on (so the
		// content is not deleted without asking the node), and only that
		// node releases it. plinth-node still adds both to contents made
		// by another common controller.
		content.Annotations = map[string]string{wellknown.AnnNode: node, utils.AnnVolumeSnapshotBeingCreated: "yes"}
		// The label lets each plinth-node watch its own contents alone
		// (--cache-own-objects-only).
		content.Labels = map[string]string{wellknown.LabelNode: wellknown.NodeLabel(node)}
		content.Finalizers = append(content.Finalizers, wellknown.FinalizerSnapshotCleanup)
	}
	return content
}
