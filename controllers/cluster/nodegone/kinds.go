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

package nodegone

import (
	snapshotv1 "github.com/kubernetes-csi/external-snapshotter/client/v8/apis/volumesnapshot/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/component-helpers/storage/volume"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/plinth-dev/plinth/internal/wellknown"
)

// kind describes one kind of object a node holds by a finalizer.
type kind struct {
	name      string
	newObject func() client.Object
	finalizer string
	// nodeOf returns the node holding obj.
	nodeOf func(obj client.Object) string
}

// kinds are the objects a node holds, each watched by a controller of its
// own.
var kinds = []kind{
	{
		name: "claim", newObject: func() client.Object { return &corev1.PersistentVolumeClaim{} },
		finalizer: wellknown.FinalizerProvisioning,
		nodeOf:    func(o client.Object) string { return o.GetAnnotations()[wellknown.AnnProvisioningNode] },
	},
	{
		name: "pv", newObject: func() client.Object { return &corev1.PersistentVolume{} },
		finalizer: volume.PVDeletionProtectionFinalizer,
		nodeOf:    func(o client.Object) string { return o.GetAnnotations()[wellknown.AnnNode] },
	},
	{
		name: "content", newObject: func() client.Object { return &snapshotv1.VolumeSnapshotContent{} },
		finalizer: wellknown.FinalizerSnapshotCleanup,
		nodeOf:    func(o client.Object) string { return o.GetAnnotations()[wellknown.AnnNode] },
	},
}
