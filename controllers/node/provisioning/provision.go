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

package provisioning

import (
	"context"
	"errors"
	"fmt"

	"github.com/container-storage-interface/spec/lib/go/csi"
	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/component-helpers/storage/volume"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"
	logf "sigs.k8s.io/controller-runtime/pkg/log"

	"github.com/plinth-dev/plinth/csi-driver/backend"
	"github.com/plinth-dev/plinth/internal/csiconn"
	"github.com/plinth-dev/plinth/internal/objpatch"
	"github.com/plinth-dev/plinth/internal/opmetrics"
	"github.com/plinth-dev/plinth/internal/storageclass"
	"github.com/plinth-dev/plinth/internal/wellknown"
)

// errTopologyUnknown makes a claim wait, with backoff, until the node's
// topology is known: a volume made before would lack the node's zone.
var errTopologyUnknown = errors.New("the node's topology is not known yet")

// segments returns the node's current topology.
func (p *Provisioner) segments() (map[string]string, error) {
	seg := p.Topology.Segments()
	if seg == nil {
		return nil, errTopologyUnknown
	}
	return seg, nil
}

// responsibleFor reports whether this provisioner handles the claim: one
// selected for this node, except for restores and clones, which are made
// where their data source lives, whatever node was selected (the pod
// follows the volume's node affinity).
func (p *Provisioner) responsibleFor(ctx context.Context, pvc *corev1.PersistentVolumeClaim) (bool, error) {
	if cleaningUp(pvc) && pvc.Annotations[wellknown.AnnProvisioningNode] == p.NodeName {
		return true, nil
	}
	if ours, err := p.isOurs(ctx, pvc); !ours || err != nil {
		return false, err
	}
	if pvc.Annotations[wellknown.AnnProvisioningNode] == p.NodeName {
		return true, nil
	}
	if pvc.Annotations[wellknown.AnnProvisioningNode] != "" {
		return false, nil // another node holds the intent
	}
	if dataSourceOf(pvc) == nil {
		return pvc.Annotations[volume.AnnSelectedNode] == p.NodeName, nil
	}
	src, err := p.resolveSource(ctx, pvc)
	if errors.Is(err, errSourceNotPermitted) && pvc.Annotations[volume.AnnSelectedNode] == p.NodeName {
		p.failed(pvc, "%v", err) // the selected node speaks for all
	}
	if err != nil {
		return false, ignoreSourceErrors(err)
	}
	return src.node == p.NodeName, nil
}

// cleaningUp reports whether the claim was deleted while it carries the
// provisioning intent. Its class need not say the claim is ours: the class
// may be gone, and kube-controller-manager, which names the provisioner in
// an annotation, may never have seen the claim before it was deleted. Only
// this node's provisioner can let such a claim go, and what a claim's owner
// could forge here costs nothing: cleanup deletes only the volume derived
// from the claim's own UID.
func cleaningUp(pvc *corev1.PersistentVolumeClaim) bool {
	return !pvc.DeletionTimestamp.IsZero() && controllerutil.ContainsFinalizer(pvc, wellknown.FinalizerProvisioning)
}

// isOurs reports whether the claim is for this driver: kube-controller-
// manager says so in an annotation; until it has, the claim's class tells.
// The provisioner does not wait for that annotation: kube-scheduler's
// selected node already says a volume must be provisioned, and a PV that
// exists when kube-controller-manager gets to the claim spares it the
// annotation's write and its ExternalProvisioning Event, so it only binds.
func (p *Provisioner) isOurs(ctx context.Context, pvc *corev1.PersistentVolumeClaim) (bool, error) {
	if name := provisionerOf(pvc); name != "" {
		return name == p.DriverName, nil
	}
	if pvc.Spec.StorageClassName == nil || *pvc.Spec.StorageClassName == "" {
		return false, nil
	}
	class := &storagev1.StorageClass{}
	if err := p.Client.Get(ctx, client.ObjectKey{Name: *pvc.Spec.StorageClassName}, class); err != nil {
		return false, client.IgnoreNotFound(err)
	}
	return class.Provisioner == p.DriverName, nil
}

// ignoreSourceErrors drops the errors that a change of the data source, not
// a retry, resolves; the data source's own events bring the claim back.
func ignoreSourceErrors(err error) error {
	if apierrors.IsNotFound(err) || isInvalidSource(err) || errors.Is(err, errSourceNotReady) {
		return nil
	}
	return err
}

// volumeRecorded reports whether the claim's PV exists.
func (p *Provisioner) volumeRecorded(ctx context.Context, pvc *corev1.PersistentVolumeClaim) (bool, error) {
	key := client.ObjectKey{Name: wellknown.VolumeName(string(pvc.UID))}
	err := p.Client.Get(ctx, key, &corev1.PersistentVolume{})
	if apierrors.IsNotFound(err) {
		err = p.Reader.Get(ctx, key, &corev1.PersistentVolume{})
	}
	if apierrors.IsNotFound(err) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("failed to get PV: %w", err)
	}
	return true, nil
}

// provision creates the volume and the PV that records it.
func (p *Provisioner) provision(ctx context.Context, pvc *corev1.PersistentVolumeClaim) error {
	class, req, err := p.prepare(ctx, pvc)
	if err != nil || req == nil {
		return err
	}
	if err := p.recordIntent(ctx, pvc); err != nil {
		return err
	}
	if err := p.protectCloneSource(ctx, pvc); err != nil {
		return err
	}
	pv, err := p.createVolumeAndPV(ctx, pvc, class, req)
	if err != nil || pv == nil {
		return err
	}
	opmetrics.Ready(opmetrics.Claim, pvc.CreationTimestamp.Time)
	p.Recorder.Eventf(pvc, pv, corev1.EventTypeNormal, ReasonProvisioningSucceded, "Provision",
		"Successfully provisioned volume %s on node %s", pv.Name, p.NodeName)
	return p.release(ctx, pvc)
}

// createVolumeAndPV creates the volume and the PV that records it. A nil PV
// with a nil error means the claim went back to the scheduler.
func (p *Provisioner) createVolumeAndPV(ctx context.Context, pvc *corev1.PersistentVolumeClaim, class *storagev1.StorageClass, req *csi.CreateVolumeRequest) (pv *corev1.PersistentVolume, err error) {
	done := opmetrics.Start(opmetrics.Provision)
	defer func() { done(err) }()
	vol, err := p.createVolume(ctx, pvc, req)
	if err != nil || vol == nil {
		return nil, err
	}
	pv = p.persistentVolume(pvc, class, vol)
	if err := p.Client.Create(ctx, pv); err != nil && !apierrors.IsAlreadyExists(err) {
		return nil, fmt.Errorf("failed to create PV %s: %w", pv.Name, err)
	}
	return pv, nil
}

// prepare reads the claim's class and builds the CreateVolume request. A nil
// request with a nil error means the claim is not ready to provision.
func (p *Provisioner) prepare(ctx context.Context, pvc *corev1.PersistentVolumeClaim) (*storagev1.StorageClass, *csi.CreateVolumeRequest, error) {
	class, err := p.storageClass(ctx, pvc)
	if err != nil || class == nil {
		return nil, nil, err
	}
	segments, err := p.segments()
	if err != nil {
		return nil, nil, err
	}
	if !storageclass.TopologyAllowed(class, segments) {
		p.failed(pvc, "node %s is not in the allowed topologies of StorageClass %s", p.NodeName, class.Name)
		return nil, nil, nil
	}
	source, err := p.contentSource(ctx, pvc)
	if err != nil {
		p.failed(pvc, "%v", err)
		return nil, nil, ignoreSourceErrors(err)
	}
	req, err := createRequest(pvc, class, segments, source)
	if err != nil {
		p.failed(pvc, "%v", err)
		return nil, nil, nil // the claim's spec must change first
	}
	return class, req, nil
}

// storageClass returns the claim's class when it is one of this driver's.
func (p *Provisioner) storageClass(ctx context.Context, pvc *corev1.PersistentVolumeClaim) (*storagev1.StorageClass, error) {
	name := ""
	if pvc.Spec.StorageClassName != nil {
		name = *pvc.Spec.StorageClassName
	}
	class := &storagev1.StorageClass{}
	if err := p.Client.Get(ctx, client.ObjectKey{Name: name}, class); err != nil {
		if apierrors.IsNotFound(err) {
			p.failed(pvc, "StorageClass %q not found", name)
		}
		return nil, fmt.Errorf("failed to get StorageClass %q: %w", name, err)
	}
	if class.Provisioner != p.DriverName {
		return nil, nil
	}
	return class, nil
}

// recordIntent adds the provisioning finalizer before anything is created.
func (p *Provisioner) recordIntent(ctx context.Context, pvc *corev1.PersistentVolumeClaim) error {
	if controllerutil.ContainsFinalizer(pvc, wellknown.FinalizerProvisioning) {
		return nil
	}
	// A merge of finalizer and annotations guarded by the claim's UID, not
	// an optimistic lock: kube-controller-manager annotates and binds the
	// claim at the same moment, and a lock turned that into conflicts and
	// retries with backoff for a good part of a burst (issue #15). What the
	// lock guarded holds without it: a claim being deleted refuses new
	// finalizers, and once a claim is selected for this node (or its
	// source lives here) only this node's provisioner, serialized per claim,
	// changes that.
	// AnnNode stays after the release: it names the node holding the
	// claim's volume, whose later writes (expansion status) the node
	// admission policy lets through even when the claim was selected for
	// another node (a restore or clone is made where its source lives).
	patch := objpatch.AddFinalizer(pvc, wellknown.FinalizerProvisioning, map[string]string{
		wellknown.AnnProvisioningNode: p.NodeName,
		wellknown.AnnVolumeID:         volumeIDOf(pvc),
		wellknown.AnnNode:             p.NodeName,
	})
	if err := p.Client.Patch(ctx, pvc, patch); err != nil {
		return fmt.Errorf("failed to record provisioning intent: %w", err)
	}
	return nil
}

// createVolume calls CreateVolume. A nil volume with a nil error means the
// claim went back to the scheduler.
func (p *Provisioner) createVolume(ctx context.Context, pvc *corev1.PersistentVolumeClaim, req *csi.CreateVolumeRequest) (*csi.Volume, error) {
	callCtx, cancel := csiconn.CallContext(ctx)
	defer cancel()
	resp, err := p.Controller.CreateVolume(callCtx, req)
	if err == nil {
		return resp.GetVolume(), nil
	}
	if csiconn.IsResourceExhausted(err) && pvc.Annotations[volume.AnnSelectedNode] != "" {
		return nil, p.reschedule(ctx, pvc, err)
	}
	p.failed(pvc, "CreateVolume %s: %v", req.Name, err)
	return nil, fmt.Errorf("failed to create volume %s: %w", req.Name, err)
}

// reschedule hands a claim back to kube-scheduler after the node had no room
// for it: nothing was created, so the intent is dropped with the selected node.
func (p *Provisioner) reschedule(ctx context.Context, pvc *corev1.PersistentVolumeClaim, cause error) error {
	base := pvc.DeepCopy()
	delete(pvc.Annotations, volume.AnnSelectedNode)
	delete(pvc.Annotations, wellknown.AnnProvisioningNode)
	delete(pvc.Annotations, wellknown.AnnVolumeID)
	delete(pvc.Annotations, wellknown.AnnNode)
	controllerutil.RemoveFinalizer(pvc, wellknown.FinalizerProvisioning)
	if err := p.Client.Patch(ctx, pvc, objpatch.LockedMerge(base)); err != nil {
		return fmt.Errorf("failed to hand claim back to the scheduler: %w", err)
	}
	p.Recorder.Eventf(pvc, nil, corev1.EventTypeWarning, ReasonRescheduling, "Provision",
		"Node %s cannot hold the volume (%v); the scheduler will pick another node", p.NodeName, cause)
	return p.releaseCloneSource(ctx, pvc)
}

// release drops the provisioning intent once a PV records the volume.
func (p *Provisioner) release(ctx context.Context, pvc *corev1.PersistentVolumeClaim) error {
	if !controllerutil.ContainsFinalizer(pvc, wellknown.FinalizerProvisioning) {
		return nil
	}
	// The claim is being bound at the same moment: a patch of the
	// finalizer alone does not conflict with that, and one that removes it
	// by name does not fail either when a stale copy of the claim (the
	// cache not showing the last release yet) brings the claim back here.
	patch := objpatch.DropFinalizer(pvc, wellknown.FinalizerProvisioning, wellknown.AnnProvisioningNode, wellknown.AnnVolumeID)
	if err := p.Client.Patch(ctx, pvc, patch); err != nil {
		return client.IgnoreNotFound(fmt.Errorf("failed to release provisioning intent: %w", err))
	}
	return p.releaseCloneSource(ctx, pvc)
}

// cleanUp deletes the volume of a claim deleted before a PV recorded it,
// by the ID recorded with the intent: neither the claim's class nor its data
// source need to exist any more. Only a failure that may be temporary keeps
// the claim; anything else is reported, and the orphan sweep (package
// controllers/node/orphans) reports the volume and deletes it later.
func (p *Provisioner) cleanUp(ctx context.Context, pvc *corev1.PersistentVolumeClaim) error {
	if !controllerutil.ContainsFinalizer(pvc, wellknown.FinalizerProvisioning) {
		return nil
	}
	id := volumeIDOf(pvc)
	err := p.deleteVolume(ctx, id)
	if err != nil && !csiconn.IsFinal(err) {
		return err
	}
	if err != nil {
		logf.FromContext(ctx).Error(err, "Cannot delete the volume of a deleted claim", "volume", id)
		p.Recorder.Eventf(pvc, nil, corev1.EventTypeWarning, ReasonCleanupFailed, "Delete",
			"Volume %s may remain on node %s: %v", id, p.NodeName, err)
		if p.Abandoned != nil {
			if err := p.Abandoned.Add(id); err != nil {
				return fmt.Errorf("failed to record abandoned volume %s for the orphan sweep: %w", id, err)
			}
		}
	}
	base := pvc.DeepCopy()
	controllerutil.RemoveFinalizer(pvc, wellknown.FinalizerProvisioning)
	if err := p.Client.Patch(ctx, pvc, objpatch.LockedMerge(base)); err != nil {
		return client.IgnoreNotFound(fmt.Errorf("failed to remove provisioning finalizer: %w", err))
	}
	return p.releaseCloneSource(ctx, pvc)
}

// volumeIDOf is the ID of the volume provisioned for the claim, the one the
// driver derives from the claim's volume name. The ID recorded with the
// intent is never read back: the claim's owner can write its annotations,
// and a claim naming another tenant's volume there would have cleanup
// delete that volume.
func volumeIDOf(pvc *corev1.PersistentVolumeClaim) string {
	return string(backend.NewVolumeID(wellknown.VolumeName(string(pvc.UID))))
}

// deleteVolume deletes a volume; one that does not exist is deleted already.
func (p *Provisioner) deleteVolume(ctx context.Context, id string) error {
	callCtx, cancel := csiconn.CallContext(ctx)
	defer cancel()
	if _, err := p.Controller.DeleteVolume(callCtx, &csi.DeleteVolumeRequest{VolumeId: id}); err != nil {
		return fmt.Errorf("failed to delete volume %s: %w", id, err)
	}
	return nil
}

// failed records a provisioning failure on the claim.
func (p *Provisioner) failed(pvc *corev1.PersistentVolumeClaim, format string, args ...any) {
	p.Recorder.Eventf(pvc, nil, corev1.EventTypeWarning, ReasonProvisioningFailed, "Provision", format, args...)
}
