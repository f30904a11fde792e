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

package storagepool

import (
	"context"
	"fmt"
	"math"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"
	"sigs.k8s.io/controller-runtime/pkg/log"

	storagev1alpha1 "github.com/plinth-dev/plinth/apis/storage/v1alpha1"
)

// ensurePool creates the node's StoragePool, or brings its spec and owner
// back to what they should be.
func (r *Reconciler) ensurePool(ctx context.Context, node *corev1.Node) (*storagev1alpha1.StoragePool, error) {
	sp := &storagev1alpha1.StoragePool{}
	err := r.Client.Get(ctx, client.ObjectKey{Name: r.NodeName}, sp)
	if apierrors.IsNotFound(err) {
		return r.createPool(ctx, node)
	}
	if err != nil {
		return nil, fmt.Errorf("failed to get StoragePool %s: %w", r.NodeName, err)
	}
	base := sp.DeepCopy()
	sp.Spec = r.spec()
	if err := r.own(node, sp); err != nil {
		return nil, err
	}
	if equality.Semantic.DeepEqual(base, sp) {
		return sp, nil
	}
	if err := r.Client.Patch(ctx, sp, client.MergeFrom(base)); err != nil {
		return nil, fmt.Errorf("failed to update StoragePool %s: %w", r.NodeName, err)
	}
	log.FromContext(ctx).Info("Updated StoragePool", "storagePool", r.NodeName)
	return sp, nil
}

func (r *Reconciler) createPool(ctx context.Context, node *corev1.Node) (*storagev1alpha1.StoragePool, error) {
	sp := &storagev1alpha1.StoragePool{ObjectMeta: metav1.ObjectMeta{Name: r.NodeName}, Spec: r.spec()}
	if err := r.own(node, sp); err != nil {
		return nil, err
	}
	if err := r.Client.Create(ctx, sp); err != nil {
		return nil, fmt.Errorf("failed to create StoragePool %s: %w", r.NodeName, err)
	}
	log.FromContext(ctx).Info("Created StoragePool", "storagePool", r.NodeName, "path", r.Path)
	return sp, nil
}

// own makes the Node the pool's owner, so the pool goes away with the node.
func (r *Reconciler) own(node *corev1.Node, sp *storagev1alpha1.StoragePool) error {
	if err := controllerutil.SetOwnerReference(node, sp, r.Client.Scheme()); err != nil {
		return fmt.Errorf("failed to set the owner of StoragePool %s: %w", sp.Name, err)
	}
	return nil
}

func (r *Reconciler) spec() storagev1alpha1.StoragePoolSpec {
	return storagev1alpha1.StoragePoolSpec{
		NodeName:           r.NodeName,
		Path:               r.Path,
		OverProvisionRatio: ratioQuantity(r.OverProvisionRatio),
	}
}

// ratioQuantity turns an over-provisioning ratio into a quantity with
// milli precision; zero means 1, as in the pool.
func ratioQuantity(ratio float64) *resource.Quantity {
	if ratio == 0 {
		ratio = 1
	}
	// Clamped well inside int64, whose bound a float64 cannot hold exactly.
	milli := math.Round(min(ratio*1000, 1<<62))
	return resource.NewMilliQuantity(int64(milli), resource.DecimalSI)
}
