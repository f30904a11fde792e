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
	snapshotv1 "github.com/kubernetes-csi/external-snapshotter/client/v8/apis/volumesnapshot/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"

	"github.com/plinth-dev/plinth/internal/objpatch"
	"github.com/plinth-dev/plinth/internal/wellknown"
)

// errInvalidSource marks a data source that can never be used as it is.
var errInvalidSource = errors.New("invalid data source")

func isInvalidSource(err error) bool {
	return errors.Is(err, errInvalidSource)
}

// errSourceNotReady marks a data source that may become usable later, such
// as a snapshot that is still being cut.
var errSourceNotReady = errors.New("data source not ready")

// errSourceNotPermitted marks a data source in another namespace that no
// ReferenceGrant allows the claim to use (yet): a grant may come later, so
// the claim is retried with backoff.
var errSourceNotPermitted = errors.New("data source not permitted")

// dataSource is the claim's data source: dataSourceRef when set (it is
// kept in sync with dataSource by the API server), else dataSource. Its
// namespace is the claim's unless dataSourceRef names another.
type dataSource struct {
	namespace, group, kind, name string
}

func dataSourceOf(pvc *corev1.PersistentVolumeClaim) *dataSource {
	if ref := pvc.Spec.DataSourceRef; ref != nil {
		namespace := pvc.Namespace
		if ref.Namespace != nil && *ref.Namespace != "" {
			namespace = *ref.Namespace
		}
		return &dataSource{namespace: namespace, group: ptr.Deref(ref.APIGroup, ""), kind: ref.Kind, name: ref.Name}
	}
	if ref := pvc.Spec.DataSource; ref != nil {
		return &dataSource{namespace: pvc.Namespace, group: ptr.Deref(ref.APIGroup, ""), kind: ref.Kind, name: ref.Name}
	}
	return nil
}

// key identifies the data source in the claims' index.
func (s *dataSource) key() string {
	return s.namespace + "/" + s.kind + "/" + s.name
}

// isClone reports whether the data source is a claim.
func (s *dataSource) isClone() bool {
	return s.group == "" && s.kind == "PersistentVolumeClaim"
}

// resolvedSource is a data source resolved to the driver's handle and the
// node that holds it.
type resolvedSource struct {
	content *csi.VolumeContentSource
	node    string
	size    int64
	// mode is the volume mode of the source's data; empty when unknown
	// (a pre-provisioned snapshot content that does not record it).
	mode corev1.PersistentVolumeMode
	// modeChangeAllowed: an admin allowed a restore into another mode.
	modeChangeAllowed bool
}

// resolveSource resolves the claim's data source, or returns nil when it
// has none.
func (p *Provisioner) resolveSource(ctx context.Context, pvc *corev1.PersistentVolumeClaim) (*resolvedSource, error) {
	src := dataSourceOf(pvc)
	if src == nil {
		return nil, nil
	}
	if err := p.checkReferenceGrant(ctx, pvc, src); err != nil {
		return nil, err
	}
	switch {
	case src.isClone():
		return p.resolveClaim(ctx, src.namespace, src.name)
	case src.group == snapshotv1.GroupName && src.kind == "VolumeSnapshot":
		return p.resolveSnapshot(ctx, src.namespace, src.name)
	default:
		return nil, fmt.Errorf("%w: %s %s/%s is not a VolumeSnapshot or PersistentVolumeClaim", errInvalidSource, src.kind, src.group, src.name)
	}
}

// resolveClaim resolves a clone source: a bound claim of this driver.
func (p *Provisioner) resolveClaim(ctx context.Context, namespace, name string) (*resolvedSource, error) {
	src := &corev1.PersistentVolumeClaim{}
	if err := p.Client.Get(ctx, client.ObjectKey{Namespace: namespace, Name: name}, src); err != nil {
		return nil, fmt.Errorf("failed to get source claim %s: %w", name, err)
	}
	if src.Status.Phase != corev1.ClaimBound || src.Spec.VolumeName == "" {
		return nil, fmt.Errorf("%w: source claim %s is not bound yet", errSourceNotReady, name)
	}
	pv := &corev1.PersistentVolume{}
	if err := p.Client.Get(ctx, client.ObjectKey{Name: src.Spec.VolumeName}, pv); err != nil {
		return nil, fmt.Errorf("failed to get PV %s of source claim %s: %w", src.Spec.VolumeName, name, err)
	}
	if pv.Spec.CSI == nil || pv.Spec.CSI.Driver != p.DriverName {
		return nil, fmt.Errorf("%w: source claim %s is not a %s volume", errInvalidSource, name, p.DriverName)
	}
	size := pv.Spec.Capacity[corev1.ResourceStorage]
	return &resolvedSource{
		content: &csi.VolumeContentSource{Type: &csi.VolumeContentSource_Volume{
			Volume: &csi.VolumeContentSource_VolumeSource{VolumeId: pv.Spec.CSI.VolumeHandle},
		}},
		node: pv.Annotations[wellknown.AnnNode],
		size: size.Value(),
		mode: ptr.Deref(pv.Spec.VolumeMode, corev1.PersistentVolumeFilesystem),
	}, nil
}

// resolveSnapshot resolves a restore source: a ready snapshot of this driver.
func (p *Provisioner) resolveSnapshot(ctx context.Context, namespace, name string) (*resolvedSource, error) {
	snap := &snapshotv1.VolumeSnapshot{}
	if err := p.Client.Get(ctx, client.ObjectKey{Namespace: namespace, Name: name}, snap); err != nil {
		return nil, fmt.Errorf("failed to get source snapshot %s: %w", name, err)
	}
	st := snap.Status
	if st == nil || st.BoundVolumeSnapshotContentName == nil || st.ReadyToUse == nil || !*st.ReadyToUse {
		return nil, fmt.Errorf("%w: snapshot %s is not ready to use", errSourceNotReady, name)
	}
	content := &snapshotv1.VolumeSnapshotContent{}
	if err := p.Client.Get(ctx, client.ObjectKey{Name: *st.BoundVolumeSnapshotContentName}, content); err != nil {
		return nil, fmt.Errorf("failed to get content of snapshot %s: %w", name, err)
	}
	if content.Spec.Driver != p.DriverName || content.Status == nil || content.Status.SnapshotHandle == nil {
		return nil, fmt.Errorf("%w: snapshot %s is not a %s snapshot", errInvalidSource, name, p.DriverName)
	}
	var size int64
	if content.Status.RestoreSize != nil {
		size = *content.Status.RestoreSize
	}
	return &resolvedSource{
		content: &csi.VolumeContentSource{Type: &csi.VolumeContentSource_Snapshot{
			Snapshot: &csi.VolumeContentSource_SnapshotSource{SnapshotId: *content.Status.SnapshotHandle},
		}},
		node:              content.Annotations[wellknown.AnnNode],
		size:              size,
		mode:              ptr.Deref(content.Spec.SourceVolumeMode, ""),
		modeChangeAllowed: content.Annotations[wellknown.AnnAllowVolumeModeChange] == "true",
	}, nil
}

// contentSource resolves the data source of a claim that this node is to
// provision and checks that it can be used here. A nil source means the
// claim has none.
func (p *Provisioner) contentSource(ctx context.Context, pvc *corev1.PersistentVolumeClaim) (*resolvedSource, error) {
	src, err := p.resolveSource(ctx, pvc)
	if err != nil || src == nil {
		return nil, err
	}
	if src.node != "" && src.node != p.NodeName {
		return nil, fmt.Errorf("%w: the data source lives on node %s, not %s: restores and clones are node-local", errInvalidSource, src.node, p.NodeName)
	}
	if limit := capacityRange(pvc).GetLimitBytes(); limit > 0 && limit < src.size {
		return nil, fmt.Errorf("%w: the claim's storage limit of %d bytes is smaller than the data source's %d", errInvalidSource, limit, src.size)
	}
	if err := checkVolumeModeConversion(pvc, src); err != nil {
		return nil, err
	}
	return src, nil
}

// checkVolumeModeConversion refuses to turn a Block source into a
// Filesystem volume or the reverse (KEP-3141): the node would mount bytes a
// tenant wrote raw, and a crafted filesystem can take the kernel down. As
// in external-provisioner, a snapshot content annotated
// snapshot.storage.kubernetes.io/allow-volume-mode-change: "true" by an
// admin is exempt, and so is one that does not record its source's mode;
// a clone must always keep its source's mode.
func checkVolumeModeConversion(pvc *corev1.PersistentVolumeClaim, src *resolvedSource) error {
	want := ptr.Deref(pvc.Spec.VolumeMode, corev1.PersistentVolumeFilesystem)
	if src.mode == "" || src.mode == want || src.modeChangeAllowed {
		return nil
	}
	hint := "a clone keeps its source's volume mode"
	if src.content.GetSnapshot() != nil {
		hint = fmt.Sprintf("an admin may allow it by annotating the VolumeSnapshotContent %s: \"true\"", wellknown.AnnAllowVolumeModeChange)
	}
	return fmt.Errorf("%w: changing the volume mode from %s (the data source's) to %s is not allowed: %s",
		errInvalidSource, src.mode, want, hint)
}

// protectCloneSource puts the cloning-protection finalizer on a clone's
// source claim, so it cannot go away while the clone is being made. The
// finalizer is merged in without an optimistic lock: the clones of one
// source in a burst, each reading it before another's write reached the
// cache, add it without conflicting with each other or with the source's
// own writers, and a stale copy costs a no-op patch, not a conflict.
func (p *Provisioner) protectCloneSource(ctx context.Context, pvc *corev1.PersistentVolumeClaim) error {
	src := dataSourceOf(pvc)
	if src == nil || !src.isClone() {
		return nil
	}
	source := &corev1.PersistentVolumeClaim{}
	if err := p.Client.Get(ctx, client.ObjectKey{Namespace: src.namespace, Name: src.name}, source); err != nil {
		return fmt.Errorf("failed to get clone source %s: %w", src.name, err)
	}
	if controllerutil.ContainsFinalizer(source, wellknown.FinalizerCloningProtection) {
		return nil
	}
	if err := p.Client.Patch(ctx, source, objpatch.AddFinalizer(source, wellknown.FinalizerCloningProtection, nil)); err != nil {
		return fmt.Errorf("failed to protect clone source %s: %w", src.name, err)
	}
	return nil
}

// releaseCloneSource removes the cloning-protection finalizer from a clone's
// source once no other clone of it is still being provisioned.
func (p *Provisioner) releaseCloneSource(ctx context.Context, pvc *corev1.PersistentVolumeClaim) error {
	src := dataSourceOf(pvc)
	if src == nil || !src.isClone() {
		return nil
	}
	claims := &corev1.PersistentVolumeClaimList{}
	if err := p.Client.List(ctx, claims, client.MatchingFields{indexDataSource: src.key()}); err != nil {
		return fmt.Errorf("failed to list claims: %w", err)
	}
	for i := range claims.Items {
		other := &claims.Items[i]
		s := dataSourceOf(other)
		if other.UID != pvc.UID && s != nil && *s == *src && controllerutil.ContainsFinalizer(other, wellknown.FinalizerProvisioning) {
			return nil // still in use by another clone
		}
	}
	source := &corev1.PersistentVolumeClaim{}
	if err := p.Client.Get(ctx, client.ObjectKey{Namespace: src.namespace, Name: src.name}, source); err != nil {
		return client.IgnoreNotFound(fmt.Errorf("failed to get clone source %s: %w", src.name, err))
	}
	if !controllerutil.ContainsFinalizer(source, wellknown.FinalizerCloningProtection) {
		return nil
	}
	if err := p.Client.Patch(ctx, source, objpatch.DropFinalizer(source, wellknown.FinalizerCloningProtection)); err != nil {
		return client.IgnoreNotFound(fmt.Errorf("failed to release clone source %s: %w", src.name, err))
	}
	return nil
}
