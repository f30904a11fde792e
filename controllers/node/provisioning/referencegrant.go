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
	"fmt"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/plinth-dev/plinth/internal/wellknown"
)

// +kubebuilder:rbac:groups=gateway.networking.k8s.io,resources=referencegrants,verbs=get;list

// referenceGrantList is the GVK of a list of ReferenceGrants. They are read
// as unstructured objects, straight from the API server: the Gateway API
// may not be installed, and cross-namespace sources are too rare to keep a
// cache of every grant.
var referenceGrantList = schema.GroupVersionKind{
	Group: wellknown.ReferenceGrantGroup, Version: wellknown.ReferenceGrantVersion, Kind: wellknown.ReferenceGrantKind + "List",
}

// grantRef is one entry of a ReferenceGrant's from or to list.
type grantRef struct {
	Group     string `json:"group"`
	Kind      string `json:"kind"`
	Namespace string `json:"namespace,omitempty"`
	Name      string `json:"name,omitempty"`
}

// checkReferenceGrant allows a data source in another namespace only when a
// ReferenceGrant in the source's namespace lets claims of the claim's
// namespace refer to it: the rule of upstream's
// CrossNamespaceVolumeDataSource, as external-provisioner applies it.
func (p *Provisioner) checkReferenceGrant(ctx context.Context, pvc *corev1.PersistentVolumeClaim, src *dataSource) error {
	if src.namespace == pvc.Namespace {
		return nil
	}
	list := &unstructured.UnstructuredList{}
	list.SetGroupVersionKind(referenceGrantList)
	err := p.Reader.List(ctx, list, client.InNamespace(src.namespace))
	if meta.IsNoMatchError(err) {
		return fmt.Errorf("%w: %s %s/%s is in another namespace and the ReferenceGrant API (%s) is not installed",
			errSourceNotPermitted, src.kind, src.namespace, src.name, wellknown.ReferenceGrantGroup)
	}
	if err != nil {
		return fmt.Errorf("failed to list ReferenceGrants in namespace %s: %w", src.namespace, err)
	}
	for i := range list.Items {
		if grants(&list.Items[i], pvc.Namespace, src) {
			return nil
		}
	}
	return fmt.Errorf("%w: no ReferenceGrant in namespace %s allows PersistentVolumeClaims of namespace %s to use %s %s",
		errSourceNotPermitted, src.namespace, pvc.Namespace, src.kind, src.name)
}

// grants reports whether a ReferenceGrant lets claims of namespace from
// refer to src.
func grants(grant *unstructured.Unstructured, from string, src *dataSource) bool {
	froms, tos := grantRefs(grant, "from"), grantRefs(grant, "to")
	fromOK := false
	for _, f := range froms {
		fromOK = fromOK || f.Group == "" && f.Kind == "PersistentVolumeClaim" && f.Namespace == from
	}
	if !fromOK {
		return false
	}
	for _, t := range tos {
		if t.Group == src.group && t.Kind == src.kind && (t.Name == "" || t.Name == src.name) {
			return true
		}
	}
	return false
}

// grantRefs returns the entries of spec.<field> of a ReferenceGrant; a
// malformed list grants nothing.
func grantRefs(grant *unstructured.Unstructured, field string) []grantRef {
	items, _, _ := unstructured.NestedSlice(grant.Object, "spec", field)
	refs := make([]grantRef, 0, len(items))
	for _, item := range items {
		m, ok := item.(map[string]any)
		if !ok {
			continue
		}
		var r grantRef
		if err := runtime.DefaultUnstructuredConverter.FromUnstructured(m, &r); err == nil {
			refs = append(refs, r)
		}
	}
	return refs
}
