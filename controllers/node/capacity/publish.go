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

package capacity

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"time"

	"github.com/container-storage-interface/spec/lib/go/csi"
	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation"
	"sigs.k8s.io/controller-runtime/pkg/client"
	logf "sigs.k8s.io/controller-runtime/pkg/log"

	"github.com/plinth-dev/plinth/internal/storageclass"
	"github.com/plinth-dev/plinth/internal/wellknown"
)

// getCapacityTimeout bounds each GetCapacity call.
const getCapacityTimeout = 30 * time.Second

// capacity asks the driver what the node can give a volume of the class: a
// filesystem of the class's type, whose smallest size the driver knows (an
// XFS volume is at least 300 MiB), so that a node whose pool cannot hold
// even that publishes no capacity for the class, as external-provisioner
// asks with the class's capability too.
func (p *Publisher) capacity(ctx context.Context, class *storagev1.StorageClass, segments map[string]string) (*csi.GetCapacityResponse, error) {
	callCtx, cancel := context.WithTimeout(ctx, getCapacityTimeout)
	defer cancel()
	resp, err := p.Controller.GetCapacity(callCtx, &csi.GetCapacityRequest{
		VolumeCapabilities: []*csi.VolumeCapability{{
			AccessType: &csi.VolumeCapability_Mount{Mount: &csi.VolumeCapability_MountVolume{FsType: class.Parameters[storageclass.FSTypeParameter]}},
			AccessMode: &csi.VolumeCapability_AccessMode{Mode: csi.VolumeCapability_AccessMode_SINGLE_NODE_WRITER},
		}},
		Parameters:         storageclass.DriverParameters(class.Parameters),
		AccessibleTopology: &csi.Topology{Segments: segments},
	})
	if err != nil {
		return nil, fmt.Errorf("failed to get capacity for class %s: %w", class.Name, err)
	}
	return resp, nil
}

// publish creates or updates the class's CSIStorageCapacity. An object of
// another topology (the node's zone or region changed) is replaced: the
// node topology of a CSIStorageCapacity is immutable, and its name is the
// node's and class's, so no stale object of the old topology remains.
func (p *Publisher) publish(ctx context.Context, name, className string, segments map[string]string, c *csi.GetCapacityResponse) error {
	node := &corev1.Node{}
	if err := p.Client.Get(ctx, client.ObjectKey{Name: p.NodeName}, node); err != nil {
		return fmt.Errorf("failed to get node %s: %w", p.NodeName, err)
	}
	desired := p.object(name, className, node, segments, c)
	existing := &storagev1.CSIStorageCapacity{}
	err := p.Client.Get(ctx, client.ObjectKey{Namespace: p.Namespace, Name: name}, existing)
	if apierrors.IsNotFound(err) {
		return p.create(ctx, desired)
	}
	if err != nil {
		return fmt.Errorf("failed to get CSIStorageCapacity %s: %w", name, err)
	}
	if !equality.Semantic.DeepEqual(existing.NodeTopology, desired.NodeTopology) {
		return p.replace(ctx, existing, desired)
	}
	if sameCapacity(existing, desired) {
		return nil
	}
	existing.Capacity, existing.MaximumVolumeSize = desired.Capacity, desired.MaximumVolumeSize
	if err := p.Client.Update(ctx, existing); err != nil {
		return fmt.Errorf("failed to update CSIStorageCapacity %s: %w", name, err)
	}
	return nil
}

func (p *Publisher) create(ctx context.Context, obj *storagev1.CSIStorageCapacity) error {
	if err := p.Client.Create(ctx, obj); err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("failed to create CSIStorageCapacity %s: %w", obj.Name, err)
	}
	return nil
}

// replace deletes the object published for an old topology, exactly that
// one (a UID precondition), and creates its successor.
func (p *Publisher) replace(ctx context.Context, old, desired *storagev1.CSIStorageCapacity) error {
	logf.FromContext(ctx).Info("Replacing CSIStorageCapacity for the node's new topology", "name", old.Name,
		"from", old.NodeTopology, "to", desired.NodeTopology)
	if err := p.Client.Delete(ctx, old, client.Preconditions{UID: &old.UID}); client.IgnoreNotFound(err) != nil {
		return fmt.Errorf("failed to delete CSIStorageCapacity %s of the old topology: %w", old.Name, err)
	}
	if err := p.Client.Create(ctx, desired); err != nil {
		return fmt.Errorf("failed to create CSIStorageCapacity %s: %w", desired.Name, err)
	}
	return nil
}

func (p *Publisher) object(name, className string, node *corev1.Node, segments map[string]string, c *csi.GetCapacityResponse) *storagev1.CSIStorageCapacity {
	obj := &storagev1.CSIStorageCapacity{
		ObjectMeta: metav1.ObjectMeta{
			Namespace: p.Namespace,
			Name:      name,
			Labels:    map[string]string{wellknown.LabelCapacityDriverName: p.DriverName, wellknown.LabelCapacityManagedBy: wellknown.CapacityManagedBy(p.NodeName)},
			OwnerReferences: []metav1.OwnerReference{{
				APIVersion: "v1", Kind: "Node", Name: node.Name, UID: node.UID,
			}},
		},
		NodeTopology:     &metav1.LabelSelector{MatchLabels: segments},
		StorageClassName: className,
		Capacity:         resource.NewQuantity(c.GetAvailableCapacity(), resource.BinarySI),
	}
	if c.GetMaximumVolumeSize() != nil {
		obj.MaximumVolumeSize = resource.NewQuantity(c.GetMaximumVolumeSize().GetValue(), resource.BinarySI)
	}
	return obj
}

func sameCapacity(a, b *storagev1.CSIStorageCapacity) bool {
	return equalQuantity(a.Capacity, b.Capacity) && equalQuantity(a.MaximumVolumeSize, b.MaximumVolumeSize)
}

func equalQuantity(a, b *resource.Quantity) bool {
	if a == nil || b == nil {
		return a == b
	}
	return a.Cmp(*b) == 0
}

// withdraw deletes the class's CSIStorageCapacity, if any.
func (p *Publisher) withdraw(ctx context.Context, name string) error {
	obj := &storagev1.CSIStorageCapacity{ObjectMeta: metav1.ObjectMeta{Namespace: p.Namespace, Name: name}}
	if err := p.Client.Delete(ctx, obj); client.IgnoreNotFound(err) != nil {
		return fmt.Errorf("failed to delete CSIStorageCapacity %s: %w", name, err)
	}
	return nil
}

// ObjectName is the name of the CSIStorageCapacity of a node and class:
// readable when it fits, a hash otherwise.
func ObjectName(node, class string) string {
	name := "plinth-" + node + "-" + class
	if len(name) <= validation.DNS1123SubdomainMaxLength {
		return name
	}
	return "plinth-" + shortHash(node+"/"+class)
}

func shortHash(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])[:32]
}
