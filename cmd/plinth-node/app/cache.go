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

package app

import (
	"context"
	"errors"
	"fmt"
	"strings"

	snapshotv1 "github.com/kubernetes-csi/external-snapshotter/client/v8/apis/volumesnapshot/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/selection"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/rest"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/manager"

	"github.com/plinth-dev/plinth/controllers/node/capacity"
	"github.com/plinth-dev/plinth/internal/wellknown"
)

// ownObjects are the kinds whose cache CacheOwnObjectsOnly confines to the
// node's own objects, each with its list type.
func ownObjects(snapshots bool) map[client.Object]schema.GroupVersionKind {
	kinds := map[client.Object]schema.GroupVersionKind{
		&corev1.PersistentVolume{}: corev1.SchemeGroupVersion.WithKind("PersistentVolumeList"),
	}
	if snapshots {
		kinds[&snapshotv1.VolumeSnapshotContent{}] = snapshotv1.SchemeGroupVersion.WithKind("VolumeSnapshotContentList")
	}
	return kinds
}

// cacheOptions are the manager's cache settings: managedFields stripped
// and capacities in Plinth's namespace (capacity.CacheOptions) and, with
// CacheOwnObjectsOnly, only the PVs and snapshot contents that carry the
// node's wellknown.LabelNode or wellknown.NodeUnclaimed: the node then
// keeps and watches its own and those no node has claimed, not the
// cluster's.
func cacheOptions(cfg Config, snapshots bool) (cache.Options, error) {
	opts := capacity.CacheOptions(cfg.Namespace)
	if !cfg.CacheOwnObjectsOnly {
		return opts, nil
	}
	req, err := labels.NewRequirement(wellknown.LabelNode, selection.In, []string{wellknown.NodeLabel(cfg.Plugin.NodeName), wellknown.NodeUnclaimed})
	if err != nil {
		return opts, fmt.Errorf("invalid node name %q for a label selector: %w", cfg.Plugin.NodeName, err)
	}
	own := labels.NewSelector().Add(*req)
	for obj := range ownObjects(snapshots) {
		opts.ByObject[obj] = cache.ByObject{Label: own}
	}
	return opts, nil
}

// snapshotAPIServed reports whether the snapshot.storage.k8s.io/v1 API is
// served: a cache setting for a kind the API server does not know fails
// the manager's start.
func snapshotAPIServed(cfg *rest.Config) (bool, error) {
	dc, err := discovery.NewDiscoveryClientForConfig(cfg)
	if err != nil {
		return false, fmt.Errorf("failed to create the discovery client: %w", err)
	}
	_, err = dc.ServerResourcesForGroupVersion(snapshotv1.SchemeGroupVersion.String())
	if apierrors.IsNotFound(err) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("failed to look up the snapshot API: %w", err)
	}
	return true, nil
}

// labelPage is the page size of labelOwnObjects' lists.
const labelPage = 500

// labelOwnObjects is a runnable that labels, once at start, the node's PVs
// and snapshot contents made before their creators set wellknown.LabelNode
// (an upgrade): those the node's annotation names as its own. It reads
// metadata only, a page at a time, from the API server.
func labelOwnObjects(mgr ctrl.Manager, node string, snapshots bool) manager.RunnableFunc {
	return func(ctx context.Context) error {
		log := ctrl.LoggerFrom(ctx).WithName("own-labels")
		for _, gvk := range ownObjects(snapshots) {
			n, err := labelOwn(ctx, mgr.GetAPIReader(), mgr.GetClient(), gvk, node)
			if err != nil {
				// The node works on, without the objects it failed to
				// label; its next start tries again.
				log.Error(err, "Failed to label the node's objects", "kind", gvk.Kind)
				continue
			}
			if n > 0 {
				log.Info("Labelled the node's objects", "kind", gvk.Kind, "count", n)
			}
		}
		return nil
	}
}

// labelOwn labels the objects of a list kind that are node's and lack the
// label, and returns how many it labelled; an object it fails to label
// does not stop the others.
func labelOwn(ctx context.Context, reader client.Reader, writer client.Client, list schema.GroupVersionKind, node string) (int, error) {
	labelled := 0
	var errs []error
	page := &metav1.PartialObjectMetadataList{}
	page.SetGroupVersionKind(list)
	for {
		if err := reader.List(ctx, page, client.Limit(labelPage), client.Continue(page.Continue)); err != nil {
			return labelled, errors.Join(append(errs, fmt.Errorf("failed to list %s: %w", list.Kind, err))...)
		}
		for i := range page.Items {
			obj := &page.Items[i]
			if obj.Annotations[wellknown.AnnNode] != node || obj.Labels[wellknown.LabelNode] == wellknown.NodeLabel(node) {
				continue
			}
			obj.SetGroupVersionKind(list.GroupVersion().WithKind(strings.TrimSuffix(list.Kind, "List")))
			if err := labelNode(ctx, writer, obj, node); err != nil {
				errs = append(errs, err)
				continue
			}
			labelled++
		}
		if page.Continue == "" {
			return labelled, errors.Join(errs...)
		}
	}
}

// labelNode sets the node label of one object with a metadata patch.
func labelNode(ctx context.Context, writer client.Client, obj *metav1.PartialObjectMetadata, node string) error {
	base := obj.DeepCopy()
	if obj.Labels == nil {
		obj.Labels = map[string]string{}
	}
	obj.Labels[wellknown.LabelNode] = wellknown.NodeLabel(node)
	if err := writer.Patch(ctx, obj, client.MergeFrom(base)); client.IgnoreNotFound(err) != nil {
		return fmt.Errorf("failed to label %s: %w", obj.Name, err)
	}
	return nil
}
