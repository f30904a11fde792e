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
	"errors"
	"fmt"
	"net/http"
	"sync"

	"github.com/prometheus/client_golang/prometheus"
	"sigs.k8s.io/controller-runtime/pkg/metrics"
)

// Reasons of the Events the agent records on its Node.
const (
	// ReasonNetworkFailed: the agent cannot program the node's pod network;
	// it retries with backoff.
	ReasonNetworkFailed = "NetworkProgrammingFailed"
	// ReasonNetworkReady: the node's pod network is programmed (again).
	ReasonNetworkReady = "NetworkReady"
	// ReasonClusterCIDRs: where the cluster CIDRs come from, when that
	// changes.
	ReasonClusterCIDRs = "ClusterCIDRs"
	// ReasonPeerRefused, on a peer's Node: the agent refuses one of its
	// pod CIDRs or its address and routes nothing there for it.
	ReasonPeerRefused = "PodCIDRRefused"
)

// peerRefusals counts the peers' pod CIDRs and addresses refused, each once
// while it stays refused.
var peerRefusals = prometheus.NewCounterVec(prometheus.CounterOpts{
	Namespace: "plinth", Subsystem: "network", Name: "peer_refusals_total",
	Help: "Peer Node pod CIDRs and addresses the node agent refused to route, by reason.",
}, []string{"reason"})

func init() {
	metrics.Registry.MustRegister(peerRefusals)
}

var (
	errNotSynced  = errors.New("the pod network has not been programmed yet")
	errNoPodCIDRs = errors.New("waiting for this node's pod CIDRs")
)

// status is what the reconciler last reported, read concurrently by the
// readiness check.
type status struct {
	mu     sync.Mutex
	synced bool
	err    error
	source CIDRSource
	cidrs  string
	// refused are the keys of the refusals reported.
	refused map[string]bool
}

// newRefusals records the current refusals and returns those not reported
// yet; one that ends and comes back is new again.
func (s *status) newRefusals(refusals []refusal) []refusal {
	s.mu.Lock()
	defer s.mu.Unlock()
	var fresh []refusal
	current := make(map[string]bool, len(refusals))
	for _, r := range refusals {
		current[r.key()] = true
		if !s.refused[r.key()] {
			fresh = append(fresh, r)
		}
	}
	s.refused = current
	return fresh
}

// set records the network's state, nil for programmed, and reports
// whether it changed.
func (s *status) set(err error) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	changed := !s.synced || fmt.Sprint(s.err) != fmt.Sprint(err)
	s.synced, s.err = true, err
	return changed
}

// setCIDRs records the cluster CIDRs and their source, and reports which
// of them changed.
func (s *status) setCIDRs(source CIDRSource, cidrs string) (sourceChanged, cidrsChanged bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	sourceChanged, cidrsChanged = s.source != source, s.cidrs != cidrs
	s.source, s.cidrs = source, cidrs
	return sourceChanged, cidrsChanged
}

func (s *status) get() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.synced {
		return errNotSynced
	}
	return s.err
}

// ReadyzCheck fails until the node's pod network is programmed and while
// the agent cannot program it; register it with the manager's readiness
// checks (mgr.AddReadyzCheck("network", r.ReadyzCheck)).
func (r *Reconciler) ReadyzCheck(_ *http.Request) error {
	return r.status.get()
}
