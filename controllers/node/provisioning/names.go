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
	corev1 "k8s.io/api/core/v1"
	"k8s.io/component-helpers/storage/volume"

	"github.com/plinth-dev/plinth/internal/storageclass"
)

// Parameters the provisioner adds to CreateVolume, as external-provisioner's
// --extra-create-metadata does.
const (
	paramPVCName = storageclass.ReservedPrefix + "pvc/name"
	paramPVCNS   = storageclass.ReservedPrefix + "pvc/namespace"
	paramPVName  = storageclass.ReservedPrefix + "pv/name"
)

// provisionerOf returns the provisioner kube-controller-manager assigned to
// a claim.
func provisionerOf(pvc *corev1.PersistentVolumeClaim) string {
	if name := pvc.Annotations[volume.AnnStorageProvisioner]; name != "" {
		return name
	}
	return pvc.Annotations[volume.AnnBetaStorageProvisioner]
}
