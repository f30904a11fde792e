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
	"slices"
	"strconv"
	"strings"

	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// LockedMerge is a merge patch from base that fails with a conflict if the
// object changed since base was read: for changes that depend on the whole
// object, such as handing a claim back to the scheduler.
func LockedMerge(base client.Object) client.Patch {
	return client.MergeFromWithOptions(base, client.MergeFromWithOptimisticLock{})
}

// op is one JSON patch (RFC 6902) operation.
type op struct {
	Op    string `json:"op"`
	Path  string `json:"path"`
	Value any    `json:"value,omitempty"`
}

// RemoveFinalizer returns a JSON patch that removes finalizer from obj and
// the given annotations, and whether there is anything to remove. The patch
// tests that the finalizer is still where obj has it, so it fails rather
// than remove another, but it does not conflict with writes to anything
// else. obj is changed as the patch will change it.
func RemoveFinalizer(obj client.Object, finalizer string, annotations ...string) (client.Patch, bool) {
	var ops []op
	finalizers := obj.GetFinalizers()
	if i := slices.Index(finalizers, finalizer); i >= 0 {
		path := "/metadata/finalizers/" + strconv.Itoa(i)
		ops = append(ops, op{Op: "test", Path: path, Value: finalizer}, op{Op: "remove", Path: path})
		obj.SetFinalizers(slices.Delete(slices.Clone(finalizers), i, i+1))
	}
	kept := obj.GetAnnotations()
	for _, a := range annotations {
		if _, ok := kept[a]; ok {
			ops = append(ops, op{Op: "remove", Path: "/metadata/annotations/" + escape(a)})
			delete(kept, a)
		}
	}
	if len(ops) == 0 {
		return nil, false
	}
	obj.SetAnnotations(kept)
	data, _ := json.Marshal(ops) // plain strings: cannot fail
	return client.RawPatch(types.JSONPatchType, data), true
}

// escape makes a map key a JSON pointer token (RFC 6901).
func escape(key string) string {
	return strings.ReplaceAll(strings.ReplaceAll(key, "~", "~0"), "/", "~1")
}
