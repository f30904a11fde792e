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

package storagenode

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"slices"

	"github.com/container-storage-interface/spec/lib/go/csi"
	storagev1 "k8s.io/api/storage/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/util/retry"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// RegisterCSIDriver does what the kubelet does once a registering CSI
// driver answered NodeGetInfo: it labels the node with the driver's
// topology segments and lists the driver in the node's CSINode object
// (created when missing), replacing an earlier entry of the same driver.
func RegisterCSIDriver(ctx context.Context, c client.Client, node, driver string, info *csi.NodeGetInfoResponse) error {
	segments := info.GetAccessibleTopology().GetSegments()
	if err := labelNode(ctx, c, node, segments); err != nil {
		return err
	}
	entry := storagev1.CSINodeDriver{Name: driver, NodeID: info.GetNodeId(), TopologyKeys: slices.Sorted(maps.Keys(segments))}
	if limit := info.GetMaxVolumesPerNode(); limit > 0 {
		entry.Allocatable = &storagev1.VolumeNodeResources{Count: ptr.To(int32(limit))} //nolint:gosec // a small count
	}
	// A driver's entry is immutable: a changed one (a new node ID, say) is
	// removed first, then added again.
	err := retry.OnError(retry.DefaultBackoff, retriable, func() error {
		err := editCSINode(ctx, c, node, func(drivers []storagev1.CSINodeDriver) []storagev1.CSINodeDriver {
			return slices.DeleteFunc(drivers, func(d storagev1.CSINodeDriver) bool {
				return d.Name == driver && !equality.Semantic.DeepEqual(d, entry)
			})
		})
		if err != nil {
			return err
		}
		return editCSINode(ctx, c, node, func(drivers []storagev1.CSINodeDriver) []storagev1.CSINodeDriver {
			if slices.ContainsFunc(drivers, func(d storagev1.CSINodeDriver) bool { return d.Name == driver }) {
				return drivers
			}
			return append(drivers, entry)
		})
	})
	if err != nil {
		return fmt.Errorf("failed to register CSI driver %s: %w", driver, err)
	}
	return nil
}

func retriable(err error) bool {
	return apierrors.IsConflict(err) || apierrors.IsAlreadyExists(err)
}

func labelNode(ctx context.Context, c client.Client, node string, labels map[string]string) error {
	if len(labels) == 0 {
		return nil
	}
	patch, err := json.Marshal(map[string]any{"metadata": map[string]any{"labels": labels}})
	if err != nil {
		return fmt.Errorf("failed to encode node labels: %w", err)
	}
	obj := &metav1.PartialObjectMetadata{TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "Node"}, ObjectMeta: metav1.ObjectMeta{Name: node}}
	if err := c.Patch(ctx, obj, client.RawPatch(types.MergePatchType, patch)); err != nil {
		return fmt.Errorf("failed to label node %s: %w", node, err)
	}
	return nil
}

// editCSINode applies edit to the node's CSINode drivers and writes the
// result when it differs, creating the CSINode when missing.
func editCSINode(ctx context.Context, c client.Client, node string, edit func([]storagev1.CSINodeDriver) []storagev1.CSINodeDriver) error {
	csiNode := &storagev1.CSINode{}
	err := c.Get(ctx, client.ObjectKey{Name: node}, csiNode)
	if apierrors.IsNotFound(err) {
		csiNode = &storagev1.CSINode{ObjectMeta: metav1.ObjectMeta{Name: node}}
		csiNode.Spec.Drivers = edit(nil)
		if err := c.Create(ctx, csiNode); err != nil {
			return fmt.Errorf("failed to create CSINode %s: %w", node, err)
		}
		return nil
	}
	if err != nil {
		return fmt.Errorf("failed to get CSINode %s: %w", node, err)
	}
	before := slices.Clone(csiNode.Spec.Drivers)
	csiNode.Spec.Drivers = edit(csiNode.Spec.Drivers)
	if equality.Semantic.DeepEqual(before, csiNode.Spec.Drivers) {
		return nil
	}
	if err := c.Update(ctx, csiNode); err != nil {
		return fmt.Errorf("failed to update CSINode %s: %w", node, err)
	}
	return nil
}
