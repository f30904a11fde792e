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

package objpatch

import (
	"encoding/json"

	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"
)

// AddFinalizer returns a strategic merge patch that adds finalizer and the
// given annotations to a built-in object (a claim, a PV) of obj's UID,
// whatever else it holds: finalizers merge as a set, so writers that add
// their own, or the same one from stale copies, never conflict with each
// other or with writes to the rest of the object, and adding what is there
// already changes nothing. The UID guards against a deleted and recreated
// object of the same name; an object being deleted refuses new finalizers.
// obj is changed as the patch will change it.
func AddFinalizer(obj client.Object, finalizer string, annotations map[string]string) client.Patch {
	controllerutil.AddFinalizer(obj, finalizer)
	metadata := map[string]any{"uid": obj.GetUID(), "finalizers": []string{finalizer}}
	if len(annotations) > 0 {
		kept := obj.GetAnnotations()
		if kept == nil {
			kept = map[string]string{}
		}
		for k, v := range annotations {
			kept[k] = v
		}
		obj.SetAnnotations(kept)
		metadata["annotations"] = annotations
	}
	return strategic(metadata)
}

// DropFinalizer returns a strategic merge patch that removes finalizer and
// the given annotations from a built-in object of obj's UID, if they are
// there, and nothing else: it neither conflicts with other writes nor fails
// when a stale copy still showed what is gone already. obj is changed as
// the patch will change it.
func DropFinalizer(obj client.Object, finalizer string, annotations ...string) client.Patch {
	controllerutil.RemoveFinalizer(obj, finalizer)
	metadata := map[string]any{"uid": obj.GetUID(), "$deleteFromPrimitiveList/finalizers": []string{finalizer}}
	if len(annotations) > 0 {
		removed := map[string]any{}
		kept := obj.GetAnnotations()
		for _, a := range annotations {
			removed[a] = nil // null deletes the key
			delete(kept, a)
		}
		obj.SetAnnotations(kept)
		metadata["annotations"] = removed
	}
	return strategic(metadata)
}

func strategic(metadata map[string]any) client.Patch {
	data, _ := json.Marshal(map[string]any{"metadata": metadata}) // strings and nulls: cannot fail
	return client.RawPatch(types.StrategicMergePatchType, data)
}
