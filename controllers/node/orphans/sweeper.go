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

package orphans

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/container-storage-interface/spec/lib/go/csi"
	"github.com/prometheus/client_golang/prometheus"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/utils/clock"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	logf "sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/metrics"

	"github.com/plinth-dev/plinth/controllers/node/nodedeps"
	"github.com/plinth-dev/plinth/csi-driver/backend"
	"github.com/plinth-dev/plinth/internal/csiconn"
	"github.com/plinth-dev/plinth/internal/wellknown"
)

// Defaults of the sweep.
const (
	// DefaultInterval is how often the pool is swept.
	DefaultInterval = time.Minute
	// DefaultGrace is how long a volume must stay unreferenced before it
	// counts as an orphan: longer than any provisioning or unpublish.
	DefaultGrace = 10 * time.Minute
)

// Event reasons, on the Node.
const (
	ReasonOrphanedVolume           = "OrphanedVolume"
	ReasonOrphanedVolumeDeleted    = "OrphanedVolumeDeleted"
	ReasonOrphanedVolumeDeleteFail = "OrphanedVolumeDeleteFailed"
)

// Kinds of orphans, the label of the gauge.
const (
	kindPersistent = "persistent"
	kindInline     = "inline"
)

// orphaned counts the orphans of the last sweep, by kind.
var orphaned = prometheus.NewGaugeVec(prometheus.GaugeOpts{
	Name: "plinth_orphaned_volumes",
	Help: "Volumes of this node that nothing in the API refers to, past the grace period, at the last sweep.",
}, []string{"kind"})

func init() {
	metrics.Registry.MustRegister(orphaned)
}

// +kubebuilder:rbac:groups="",resources=pods,verbs=list
// +kubebuilder:rbac:groups="",resources=persistentvolumes;persistentvolumeclaims,verbs=list;watch
// +kubebuilder:rbac:groups=events.k8s.io,resources=events,verbs=create;patch

// Sweeper sweeps one node's pool for orphans; it runs in plinth-node as a
// manager runnable on every node.
type Sweeper struct {
	nodedeps.Deps
	// Reader lists this node's pods straight from the API server (field
	// selector spec.nodeName), rather than caching every pod.
	Reader client.Reader
	// Node is the driver's node service, which unpublishes orphaned inline
	// volumes.
	Node csi.NodeClient
	// KubeletDir is the kubelet's root directory; empty skips inline
	// volumes.
	KubeletDir string
	// Interval and Grace: zero means DefaultInterval and DefaultGrace.
	Interval, Grace time.Duration
	// Ledger holds the volumes the provisioner abandoned, which the sweep
	// may delete.
	Ledger *Ledger
	// Clock is the sweep's clock; nil means the real one.
	Clock clock.PassiveClock

	mu sync.Mutex
	// seen is when each candidate was first found unreferenced.
	seen map[string]time.Time
	// reported holds the orphans already reported by an Event.
	reported map[string]bool
}

// Report is what one sweep found.
type Report struct {
	// Volumes are the IDs of the persistent orphans, Inline the target
	// paths of the orphaned inline volumes.
	Volumes, Inline []string
	// Deleted are the orphans this sweep deleted (IDs) or unpublished
	// (target paths).
	Deleted []string
}

// SetupWithManager adds the sweep to mgr.
func (s *Sweeper) SetupWithManager(mgr ctrl.Manager) error {
	if err := mgr.Add(s); err != nil {
		return fmt.Errorf("failed to add the orphan sweep: %w", err)
	}
	return nil
}

// NeedLeaderElection is false: every node sweeps its own pool.
func (s *Sweeper) NeedLeaderElection() bool { return false }

// Start sweeps every Interval until ctx ends.
func (s *Sweeper) Start(ctx context.Context) error {
	log := logf.FromContext(ctx).WithName("orphans")
	wait.UntilWithContext(ctx, func(ctx context.Context) {
		if _, err := s.Sweep(ctx); err != nil {
			log.Error(err, "Orphan sweep failed")
		}
	}, cmp.Or(s.Interval, DefaultInterval))
	return nil
}

// Sweep finds the orphans once, reports those past the grace period and
// deletes the provable ones.
func (s *Sweeper) Sweep(ctx context.Context) (Report, error) {
	var rep Report
	volumes, err := s.persistentCandidates(ctx)
	if err != nil {
		return rep, err
	}
	inline, err := s.inlineCandidates(ctx)
	if err != nil {
		return rep, err
	}
	due := s.pastGrace(volumes, inline)
	for _, id := range volumes {
		if due[kindPersistent+"/"+id] {
			rep.Volumes = append(rep.Volumes, id)
			s.handleVolume(ctx, id, &rep)
		}
	}
	for _, v := range inline {
		if due[kindInline+"/"+v.target] {
			rep.Inline = append(rep.Inline, v.target)
			s.handleInline(ctx, v, &rep)
		}
	}
	orphaned.WithLabelValues(kindPersistent).Set(float64(len(rep.Volumes)))
	orphaned.WithLabelValues(kindInline).Set(float64(len(rep.Inline)))
	return rep, nil
}

// pastGrace records when each candidate was first seen, forgets those that
// are candidates no more, and returns the keys of those past the grace
// period.
func (s *Sweeper) pastGrace(volumes []string, inline []inlineVolume) map[string]bool {
	now := s.clock().Now()
	keys := make([]string, 0, len(volumes)+len(inline))
	for _, id := range volumes {
		keys = append(keys, kindPersistent+"/"+id)
	}
	for _, v := range inline {
		keys = append(keys, kindInline+"/"+v.target)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.seen == nil {
		s.seen, s.reported = map[string]time.Time{}, map[string]bool{}
	}
	for k := range s.seen {
		if !slices.Contains(keys, k) {
			delete(s.seen, k)
			delete(s.reported, k)
		}
	}
	due := map[string]bool{}
	for _, k := range keys {
		first, ok := s.seen[k]
		if !ok {
			s.seen[k] = now
			first = now
		}
		due[k] = now.Sub(first) >= cmp.Or(s.Grace, DefaultGrace)
	}
	return due
}

func (s *Sweeper) clock() clock.PassiveClock {
	if s.Clock == nil {
		return clock.RealClock{}
	}
	return s.Clock
}

// reportOnce emits the orphan's Warning Event the first time it is due.
func (s *Sweeper) reportOnce(key, format string, args ...any) {
	s.mu.Lock()
	done := s.reported[key]
	s.reported[key] = true
	s.mu.Unlock()
	if !done {
		s.event(corev1.EventTypeWarning, ReasonOrphanedVolume, format, args...)
	}
}

// event records an Event on this node.
func (s *Sweeper) event(eventType, reason, format string, args ...any) {
	node := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: s.NodeName}}
	s.Recorder.Eventf(node, nil, eventType, reason, "Sweep", format, args...)
}

// persistentCandidates returns the driver's volumes that no PV records and
// no existing claim may still get. The listing also prunes the Ledger of
// volumes that are gone.
func (s *Sweeper) persistentCandidates(ctx context.Context) ([]string, error) {
	ids, err := s.listVolumes(ctx)
	if err != nil {
		return nil, err
	}
	if err := s.Ledger.Prune(ids); err != nil {
		logf.FromContext(ctx).Error(err, "Cannot forget abandoned volumes that are gone")
	}
	known, err := s.referencedVolumes(ctx)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, id := range ids {
		if !known[id] {
			out = append(out, id)
		}
	}
	return out, nil
}

// listVolumes lists the IDs of the driver's (persistent) volumes.
func (s *Sweeper) listVolumes(ctx context.Context) ([]string, error) {
	var ids []string
	token := ""
	for {
		callCtx, cancel := csiconn.CallContext(ctx)
		resp, err := s.Controller.ListVolumes(callCtx, &csi.ListVolumesRequest{StartingToken: token})
		cancel()
		if err != nil {
			return nil, fmt.Errorf("failed to list volumes: %w", err)
		}
		for _, e := range resp.GetEntries() {
			ids = append(ids, e.GetVolume().GetVolumeId())
		}
		if token = resp.GetNextToken(); token == "" {
			return ids, nil
		}
	}
}

// referencedVolumes returns the IDs PVs of the driver record and those
// existing claims may still get: the one the driver derives from the
// claim's volume name (the ID a claim's annotation records is the owner's
// to write, and would let a tenant keep any orphan from the sweep).
func (s *Sweeper) referencedVolumes(ctx context.Context) (map[string]bool, error) {
	known := map[string]bool{}
	pvs := &corev1.PersistentVolumeList{}
	if err := s.Client.List(ctx, pvs); err != nil {
		return nil, fmt.Errorf("failed to list PVs: %w", err)
	}
	for _, pv := range pvs.Items {
		if pv.Spec.CSI != nil && pv.Spec.CSI.Driver == s.DriverName {
			known[pv.Spec.CSI.VolumeHandle] = true
		}
	}
	claims := &corev1.PersistentVolumeClaimList{}
	if err := s.Client.List(ctx, claims); err != nil {
		return nil, fmt.Errorf("failed to list claims: %w", err)
	}
	for _, c := range claims.Items {
		known[string(backend.NewVolumeID(wellknown.VolumeName(string(c.UID))))] = true
	}
	return known, nil
}

// handleVolume reports a persistent orphan and deletes it when the
// provisioner abandoned it.
func (s *Sweeper) handleVolume(ctx context.Context, id string, rep *Report) {
	provable := s.Ledger.Has(id)
	s.reportOnce(kindPersistent+"/"+id, "Volume %s on node %s has no PersistentVolume and no claim (deleted by the sweep: %v)", id, s.NodeName, provable)
	if !provable {
		return
	}
	callCtx, cancel := csiconn.CallContext(ctx)
	defer cancel()
	if _, err := s.Controller.DeleteVolume(callCtx, &csi.DeleteVolumeRequest{VolumeId: id}); err != nil {
		s.event(corev1.EventTypeWarning, ReasonOrphanedVolumeDeleteFail, "Deleting orphaned volume %s failed: %v", id, err)
		return
	}
	if err := s.Ledger.Remove(id); err != nil {
		// The next sweep prunes it: the volume is gone from the listing.
		logf.FromContext(ctx).Error(err, "Cannot forget a deleted orphan", "volume", id)
	}
	rep.Deleted = append(rep.Deleted, id)
	s.event(corev1.EventTypeNormal, ReasonOrphanedVolumeDeleted, "Deleted orphaned volume %s, abandoned by its deleted claim", id)
}
