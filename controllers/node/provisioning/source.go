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

// dataSource is the claim's data source: dataSourceRef when set (it is
// kept in sync with dataSource by the API server), else dataSource.
type dataSource struct {
	group, kind, name string
}

func dataSourceOf(pvc *corev1.PersistentVolumeClaim) *dataSource {
	if ref := pvc.Spec.DataSourceRef; ref != nil {
		group := ""
		if ref.APIGroup != nil {
			group = *ref.APIGroup
		}
		return &dataSource{group: group, kind: ref.Kind, name: ref.Name}
	}
	if ref := pvc.Spec.DataSource; ref != nil {
		group := ""
		if ref.APIGroup != nil {
			group = *ref.APIGroup
		}
		return &dataSource{group: group, kind: ref.Kind, name: ref.Name}
	}
	return nil
}

// resolvedSource is a data source resolved to the driver's handle and the
// node that holds it.
type resolvedSource struct {
	content *csi.VolumeContentSource
	node    string
	size    int64
}

// resolveSource resolves the claim's data source, or returns nil when it
// has none.
func (p *Provisioner) resolveSource(ctx context.Context, pvc *corev1.PersistentVolumeClaim) (*resolvedSource, error) {
	src := dataSourceOf(pvc)
	switch {
	case src == nil:
		return nil, nil
	case src.group == "" && src.kind == "PersistentVolumeClaim":
		return p.resolveClaim(ctx, pvc.Namespace, src.name)
	case src.group == snapshotv1.GroupName && src.kind == "VolumeSnapshot":
		return p.resolveSnapshot(ctx, pvc.Namespace, src.name)
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
		node: content.Annotations[wellknown.AnnNode],
		size: size,
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
	return src, nil
}

// protectCloneSource puts the cloning-protection finalizer on a clone's
// source claim, so it cannot go away while the clone is being made.
func (p *Provisioner) protectCloneSource(ctx context.Context, pvc *corev1.PersistentVolumeClaim) error {
	src := dataSourceOf(pvc)
	if src == nil || src.group != "" || src.kind != "PersistentVolumeClaim" {
		return nil
	}
	source := &corev1.PersistentVolumeClaim{}
	if err := p.Client.Get(ctx, client.ObjectKey{Namespace: pvc.Namespace, Name: src.name}, source); err != nil {
		return fmt.Errorf("failed to get clone source %s: %w", src.name, err)
	}
	if controllerutil.ContainsFinalizer(source, wellknown.FinalizerCloningProtection) {
		return nil
	}
	base := source.DeepCopy()
	controllerutil.AddFinalizer(source, wellknown.FinalizerCloningProtection)
	if err := p.Client.Patch(ctx, source, objpatch.LockedMerge(base)); err != nil {
		return fmt.Errorf("failed to protect clone source %s: %w", src.name, err)
	}
	return nil
}

// releaseCloneSource removes the cloning-protection finalizer from a clone's
// source once no other clone of it is still being provisioned.
func (p *Provisioner) releaseCloneSource(ctx context.Context, pvc *corev1.PersistentVolumeClaim) error {
	src := dataSourceOf(pvc)
	if src == nil || src.group != "" || src.kind != "PersistentVolumeClaim" {
		return nil
	}
	claims := &corev1.PersistentVolumeClaimList{}
	if err := p.Client.List(ctx, claims, client.InNamespace(pvc.Namespace)); err != nil {
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
	if err := p.Client.Get(ctx, client.ObjectKey{Namespace: pvc.Namespace, Name: src.name}, source); err != nil {
		return client.IgnoreNotFound(fmt.Errorf("failed to get clone source %s: %w", src.name, err))
	}
	if !controllerutil.ContainsFinalizer(source, wellknown.FinalizerCloningProtection) {
		return nil
	}
	base := source.DeepCopy()
	controllerutil.RemoveFinalizer(source, wellknown.FinalizerCloningProtection)
	if err := p.Client.Patch(ctx, source, objpatch.LockedMerge(base)); err != nil {
		return client.IgnoreNotFound(fmt.Errorf("failed to release clone source %s: %w", src.name, err))
	}
	return nil
}
