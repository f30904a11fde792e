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

package nodepicker

import (
	"sync"
	"time"

	"k8s.io/component-helpers/storage/volume"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/types"
)

// annStorageProvisioner is set by kube-controller-manager on claims of a
// class with an external provisioner.
const annStorageProvisioner = "volume.kubernetes.io/storage-provisioner"

// reservationTTL bounds how long a selection the cache has not shown yet
// still counts: by then the cache shows it, or the patch never landed.
const reservationTTL = time.Minute

// reservations remembers the nodes the picker selected until its cache
// shows them. Published capacities only drop once a volume exists, so
// without this a burst of claims would all go to the node that looked
// emptiest, and all but the first few would come back with
// ResourceExhausted.
type reservations struct {
	mu    sync.Mutex
	picks map[types.UID]reservation
}

type reservation struct {
	node string
	size resource.Quantity
	at   time.Time
}

// add records that claim uid of the given size was placed on node.
func (r *reservations) add(uid types.UID, node string, size resource.Quantity, now time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.picks == nil {
		r.picks = map[types.UID]reservation{}
	}
	r.picks[uid] = reservation{node: node, size: size, at: now}
}

// reserved returns, per node, the storage that selected but not yet
// provisioned claims of the driver will take: claims of the cache with a
// selected node (the picker's or kube-scheduler's) and no volume, plus the
// picker's own selections the cache does not show yet. The claim being
// placed does not count.
func (r *reservations) reserved(claims []corev1.PersistentVolumeClaim, driver string, self types.UID, now time.Time) map[string]resource.Quantity {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := map[string]resource.Quantity{}
	add := func(node string, q resource.Quantity) {
		sum := out[node]
		sum.Add(q)
		out[node] = sum
	}
	seen := map[types.UID]bool{}
	for i := range claims {
		c := &claims[i]
		if node := c.Annotations[volume.AnnSelectedNode]; node != "" {
			seen[c.UID] = true
			if c.UID != self && pendingOnNode(c, driver) {
				add(node, requestOf(c))
			}
		}
	}
	for uid, res := range r.picks {
		if seen[uid] || now.Sub(res.at) > reservationTTL {
			delete(r.picks, uid) // the cache shows it now, or it never landed
			continue
		}
		if uid != self {
			add(res.node, res.size)
		}
	}
	return out
}

// pendingOnNode reports whether a claim of the driver waits for its volume.
func pendingOnNode(c *corev1.PersistentVolumeClaim, driver string) bool {
	return c.Spec.VolumeName == "" && c.DeletionTimestamp.IsZero() && c.Annotations[annStorageProvisioner] == driver
}
