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

package e2e

import (
	"slices"
	"testing"

	storagev1 "k8s.io/api/storage/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/plinth-dev/plinth/csi-driver/backend"
	"github.com/plinth-dev/plinth/internal/wellknown"
	"github.com/plinth-dev/plinth/test/storagenode"
)

// TestCleanupWithoutTheStorageClassLeaksNothing is issue 12 finding 7: a
// claim deleted before its PV existed, whose StorageClass was deleted
// meanwhile, still has its volume deleted: cleanup deletes the ID recorded
// with the intent instead of rebuilding the CreateVolume request.
func TestCleanupWithoutTheStorageClassLeaksNothing(t *testing.T) {
	sc := startStorageClusterWith(t, storagenode.Options{CrashAfter: crashOnce("/csi.v1.Controller/CreateVolume")})
	class := sc.createClass(t, "plinth-doomed", "WaitForFirstConsumer", nil)
	sc.waitForCapacities(t, class)
	ns := sc.namespace(t, "class-gone")
	pvc := claim(ns, "data", class, "100Mi")
	sc.create(t, pvc, pod(ns, "app", "data"))
	node := sc.crashedNode(t)
	assertIntentRecorded(t, sc, pvc)
	volumeID := string(backend.NewVolumeID(wellknown.VolumeName(string(pvc.UID))))
	if got := pvc.Annotations[wellknown.AnnVolumeID]; got != volumeID {
		t.Errorf("the intent records volume %q, want %q", got, volumeID)
	}
	sc.deletePod(t, ns, "app")
	sc.delete(t, pvc)
	sc.delete(t, &storagev1.StorageClass{ObjectMeta: metav1.ObjectMeta{Name: class}})
	node.Restart()
	sc.waitGone(t, pvc)
	ids, err := node.Volumes(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if slices.Contains(ids, volumeID) {
		t.Errorf("volume %s of the deleted claim leaked on %s after its StorageClass was deleted", volumeID, node.Name)
	}
}
