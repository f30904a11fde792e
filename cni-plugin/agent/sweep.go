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

package agent

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/util/wait"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/metrics"

	"github.com/plinth-dev/plinth/cni-plugin/ipam"
	"github.com/plinth-dev/plinth/cni-plugin/plugin"
)

// Defaults of the Sweeper.
const (
	// DefaultSweepInterval is how often reservations are checked.
	DefaultSweepInterval = time.Minute
	// DefaultSweepGrace is the age below which a reservation is never
	// released: its pod may not be in the API server's answer yet, or may
	// not have reported its address.
	DefaultSweepGrace = 2 * time.Minute
)

// Why a reservation was released (the reason label of the metric).
const (
	sweptPodGone         = "pod_gone"
	sweptPodReplaced     = "pod_replaced"
	sweptPodTerminated   = "pod_terminated"
	sweptSandboxReplaced = "sandbox_replaced"
)

var sweptReservations = prometheus.NewCounterVec(prometheus.CounterOpts{
	Namespace: "plinth", Subsystem: "network", Name: "ipam_reservations_swept_total",
	Help: "IPAM reservations released by the node agent because their pod no longer uses them, by reason.",
}, []string{"reason"})

func init() {
	metrics.Registry.MustRegister(sweptReservations)
}

// +kubebuilder:rbac:groups="",resources=pods,verbs=get;list;watch

// Sweeper releases the IPAM reservations that the runtime never released:
// a sandbox that failed or was torn down without a DEL, on a runtime that
// does not call GC. A reservation older than Grace is released when its pod
// does not exist, is a different pod of the same name, has terminated, or
// runs with addresses that do not include the reservation's, for the pod's
// primary interface (a pod has one live sandbox at a time, so the
// reservation is a dead sandbox's). Records
// without a pod, written before pods were recorded, are never released
// here. The host end of the released attachment's veth, with its routes,
// goes too.
type Sweeper struct {
	// NodeName is the Node the agent runs on.
	NodeName string
	// DataDir and Network locate the IPAM store, as in Config.
	DataDir, Network string
	// Pods reads the pods bound to this node, normally a cache of them
	// alone (SetupWithManager makes one).
	Pods client.Reader
	// APIReader reads pods from the API server, to confirm a release that
	// the cache suggests.
	APIReader client.Reader
	// Interval and Grace default to DefaultSweepInterval and
	// DefaultSweepGrace.
	Interval, Grace time.Duration

	// cleanup removes what an attachment left in the kernel; tests replace
	// it to stay out of the host's network namespace.
	cleanup func(ipam.Allocation) error
}

// NewSweeper returns the Sweeper of the agent's IPAM store.
func (a *Agent) NewSweeper() *Sweeper {
	return &Sweeper{NodeName: a.cfg.NodeName, DataDir: a.cfg.DataDir, Network: a.cfg.NetworkName}
}

// SetupWithManager reads pods through a cache of this node's pods only (a
// node must not cache the cluster's) and has the manager run the sweeps.
// It needs no API server: the cache knows Pods without asking discovery.
func (s *Sweeper) SetupWithManager(mgr ctrl.Manager) error {
	mapper := meta.NewDefaultRESTMapper(nil)
	mapper.Add(corev1.SchemeGroupVersion.WithKind("Pod"), meta.RESTScopeNamespace)
	pods, err := cache.New(mgr.GetConfig(), cache.Options{
		Scheme: mgr.GetScheme(), Mapper: mapper,
		ByObject: map[client.Object]cache.ByObject{
			&corev1.Pod{}: {Field: fields.OneTermEqualSelector("spec.nodeName", s.NodeName)},
		},
		DefaultTransform: cache.TransformStripManagedFields(),
	})
	if err != nil {
		return fmt.Errorf("failed to create the pod cache: %w", err)
	}
	if err := mgr.Add(pods); err != nil {
		return fmt.Errorf("failed to add the pod cache: %w", err)
	}
	s.Pods, s.APIReader = pods, mgr.GetAPIReader()
	if err := mgr.Add(s); err != nil {
		return fmt.Errorf("failed to add the reservation sweeper: %w", err)
	}
	return nil
}

// NeedLeaderElection is false: every node sweeps its own store.
func (s *Sweeper) NeedLeaderElection() bool {
	return false
}

// Start waits until the pod cache has synced, then sweeps every Interval
// until ctx ends; a failed sweep is logged and the next one tries again.
// The manager starts the sweeper and the cache together: sweeping at once
// would find the cache not started and fail until the next Interval.
func (s *Sweeper) Start(ctx context.Context) error {
	if c, ok := s.Pods.(syncer); ok && !c.WaitForCacheSync(ctx) {
		return nil // ctx ended first
	}
	interval := s.interval()
	wait.UntilWithContext(ctx, func(ctx context.Context) {
		ctx, cancel := context.WithTimeout(ctx, interval)
		defer cancel()
		if _, err := s.Sweep(ctx); err != nil {
			log.FromContext(ctx).Error(err, "failed to sweep IPAM reservations")
		}
	}, interval)
	return nil
}

// syncer is a reader that answers only once it has synced, as a cache does.
type syncer interface {
	WaitForCacheSync(ctx context.Context) bool
}

// Sweep releases the stale reservations once and returns them.
func (s *Sweeper) Sweep(ctx context.Context) ([]ipam.Reservation, error) {
	store, err := s.openStore()
	if store == nil || err != nil {
		return nil, err
	}
	reservations, err := store.Reservations()
	if err != nil {
		return nil, fmt.Errorf("failed to read IPAM reservations: %w", err)
	}
	stale, reasons, findErr := s.findStale(ctx, reservations)
	released, releaseErr := store.ReleaseUnchanged(stale, s.cleanupFunc())
	for _, r := range released {
		sweptReservations.WithLabelValues(reasons[r.ID]).Inc()
		log.FromContext(ctx).Info("released IPAM reservation of a dead sandbox", "reason", reasons[r.ID],
			"pod", r.Pod.Namespace+"/"+r.Pod.Name, "podUID", r.Pod.UID, "containerID", r.Key.ContainerID,
			"ips", r.IPs, "age", time.Since(r.Created).Round(time.Second))
	}
	return released, errors.Join(findErr, releaseErr)
}

// openStore opens the IPAM store if it exists: the sweep must not create
// one, say after Uninstall removed it.
func (s *Sweeper) openStore() (*ipam.Store, error) {
	if _, err := os.Stat(filepath.Join(s.DataDir, s.Network)); errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	store, err := ipam.Open(s.DataDir, s.Network)
	if err != nil {
		return nil, fmt.Errorf("failed to open the IPAM store: %w", err)
	}
	return store, nil
}

// findStale returns the reservations to release, each with its reason. A
// reservation whose pod cannot be read is kept and its error returned.
func (s *Sweeper) findStale(ctx context.Context, reservations []ipam.Reservation) ([]ipam.Reservation, map[string]string, error) {
	var (
		stale   []ipam.Reservation
		reasons = map[string]string{}
		errs    []error
	)
	for _, r := range reservations {
		if !r.Pod.Known() || r.Created.IsZero() || time.Since(r.Created) < s.grace() {
			continue
		}
		reason, err := s.staleReason(ctx, r)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if reason != "" {
			stale, reasons[r.ID] = append(stale, r), reason
		}
	}
	return stale, reasons, errors.Join(errs...)
}

// staleReason says why r's pod no longer uses it, or "" when it may. The
// cache suggests, the API server confirms: a lagging cache must never cost
// a running pod its address.
func (s *Sweeper) staleReason(ctx context.Context, r ipam.Reservation) (string, error) {
	if reason, err := s.reasonFrom(ctx, s.Pods, r); reason == "" || err != nil {
		return "", err
	}
	return s.reasonFrom(ctx, s.APIReader, r)
}

func (s *Sweeper) reasonFrom(ctx context.Context, reader client.Reader, r ipam.Reservation) (string, error) {
	pod := &corev1.Pod{}
	err := reader.Get(ctx, client.ObjectKey{Namespace: r.Pod.Namespace, Name: r.Pod.Name}, pod)
	if apierrors.IsNotFound(err) {
		return sweptPodGone, nil
	}
	if err != nil {
		return "", fmt.Errorf("failed to read pod %s/%s: %w", r.Pod.Namespace, r.Pod.Name, err)
	}
	return s.reason(pod, r), nil
}

// reason applies the rules to the pod that has r's name.
func (s *Sweeper) reason(pod *corev1.Pod, r ipam.Reservation) string {
	switch {
	case string(pod.UID) != r.Pod.UID:
		return sweptPodReplaced
	case pod.Status.Phase == corev1.PodSucceeded || pod.Status.Phase == corev1.PodFailed:
		return sweptPodTerminated
	case r.Key.IfName == primaryIfName && pod.Spec.NodeName == s.NodeName && len(pod.Status.PodIPs) > 0 && !usesAny(pod.Status.PodIPs, r):
		return sweptSandboxReplaced
	}
	return ""
}

// primaryIfName is the interface the kubelet asks the runtime to attach the
// pod network to; status.podIPs are its addresses, never those of further
// attachments (such as Multus's net1).
const primaryIfName = "eth0"

// usesAny reports whether the pod runs with one of r's addresses.
func usesAny(podIPs []corev1.PodIP, r ipam.Reservation) bool {
	return slices.ContainsFunc(podIPs, func(ip corev1.PodIP) bool {
		addr, err := netip.ParseAddr(ip.IP)
		return err == nil && slices.Contains(r.IPs, addr.Unmap())
	})
}

func (s *Sweeper) cleanupFunc() func(ipam.Allocation) error {
	if s.cleanup != nil {
		return s.cleanup
	}
	return func(a ipam.Allocation) error { return plugin.DeleteHostVeth(a.ID) }
}

func (s *Sweeper) interval() time.Duration {
	if s.Interval > 0 {
		return s.Interval
	}
	return DefaultSweepInterval
}

func (s *Sweeper) grace() time.Duration {
	if s.Grace > 0 {
		return s.Grace
	}
	return DefaultSweepGrace
}
