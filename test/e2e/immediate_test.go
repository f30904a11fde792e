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
	"context"
	"slices"
	"strings"
	"testing"

	"k8s.io/component-helpers/storage/volume"

	"github.com/plinth-dev/plinth/internal/wellknown"

	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	storagev1 "k8s.io/api/storage/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/plinth-dev/plinth/controllers/cluster/nodepicker"
)

func TestImmediateBinding(t *testing.T) {
	sc := startStorageCluster(t)
	sc.startPlinthController(t)
	immediate := sc.createClass(t, "plinth-immediate", storagev1.VolumeBindingImmediate, nil)
	// waitForCapacities knows this name as the class limited to zone-b.
	zoneB := sc.createClass(t, "plinth-zone-b", storagev1.VolumeBindingImmediate, []string{"zone-b"})
	for _, class := range []string{immediate, zoneB} {
		sc.waitForCapacities(t, class)
	}

	t.Run("a claim without a pod binds on a node whose pool can hold it", func(t *testing.T) {
		ns := sc.namespace(t, "immediate")
		sc.create(t, claim(ns, "data", immediate, "1Gi"))
		pv := sc.waitBound(t, ns, "data")
		node := pv.Annotations[wellknown.AnnNode]
		if !slices.Contains([]string{"node-2", "node-3"}, node) {
			t.Errorf("volume provisioned on %q, want node-2 or node-3 (node-1's pool cannot hold 1Gi)", node)
		}
		assertPVOnNode(t, pv, node)
		sc.assertVolumeExists(t.Context(), t, node, pv.Spec.CSI.VolumeHandle)
	})

	t.Run("a class restricted to one zone binds in that zone", func(t *testing.T) {
		ns := sc.namespace(t, "immediate-zoned")
		sc.create(t, claim(ns, "data", zoneB, "100Mi"))
		assertPVOnNode(t, sc.waitBound(t, ns, "data"), "node-3")
	})

	t.Run("a claim no node can hold gets a Warning Event", func(t *testing.T) {
		ns := sc.namespace(t, "immediate-too-large")
		sc.create(t, claim(ns, "huge", immediate, "64Gi"))
		poll(t, "ProvisioningFailed event on claim huge", func(ctx context.Context) (bool, error) {
			return sc.hasWarning(ctx, ns, "huge", nodepicker.ReasonProvisioningFailed, "with room for 64Gi")
		})
		pvc := &corev1.PersistentVolumeClaim{}
		if err := sc.cp.Client.Get(t.Context(), client.ObjectKey{Namespace: ns, Name: "huge"}, pvc); err != nil {
			t.Fatal(err)
		}
		if node := pvc.Annotations[volume.AnnSelectedNode]; node != "" {
			t.Errorf("claim huge was sent to %s, whose pool cannot hold it", node)
		}
	})
}

// hasWarning reports whether a claim has a Warning Event with the given
// reason whose note contains the given text.
func (sc *storageCluster) hasWarning(ctx context.Context, ns, claimName, reason, text string) (bool, error) {
	list := &eventsv1.EventList{}
	if err := sc.cp.Client.List(ctx, list, client.InNamespace(ns)); err != nil {
		return false, err
	}
	return slices.ContainsFunc(list.Items, func(e eventsv1.Event) bool {
		return e.Regarding.Kind == "PersistentVolumeClaim" && e.Regarding.Name == claimName &&
			e.Type == corev1.EventTypeWarning && e.Reason == reason && strings.Contains(e.Note, text)
	}), nil
}
