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

package app

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/plinth-dev/plinth/internal/wellknown"

	"github.com/go-logr/logr"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/tools/events"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/plinth-dev/plinth/csi-driver/plugin"
	"github.com/plinth-dev/plinth/csi-driver/topology"
)

// Reasons of the Events on the Node about its topology.
const (
	// ReasonTopologyChanged: the zone or region changed; new volumes get
	// the new topology.
	ReasonTopologyChanged = "TopologyChanged"
	// ReasonVolumesKeepTopology: PVs on the node keep a node affinity the
	// node's topology no longer satisfies.
	ReasonVolumesKeepTopology = "VolumesKeepOldTopology"
)

// maxNamedVolumes bounds the PVs an Event names (its note is 1 kB at most).
const maxNamedVolumes = 5

// watchTopology follows the node's zone and region through the manager's
// Node informer. It adds no watch: the capacity publisher, the StoragePool
// reconciler and the network agent cache every Node in it already.
func watchTopology(ctx context.Context, mgr ctrl.Manager, cfg plugin.Config) (*topology.Node, error) {
	informer, err := mgr.GetCache().GetInformer(ctx, &corev1.Node{})
	if err != nil {
		return nil, fmt.Errorf("failed to get the Node informer: %w", err)
	}
	node := topology.NewNode(cfg.NodeName, cfg.Logger.WithName("topology"))
	if err := node.Watch(ctx, informer); err != nil {
		return nil, err
	}
	return node, nil
}

func setupTopologyNotice(mgr ctrl.Manager, cfg plugin.Config, recorder events.EventRecorder) error {
	n := &topologyNotice{
		topology: cfg.Topology, client: mgr.GetClient(), recorder: recorder,
		driverName: cfg.DriverName, nodeName: cfg.NodeName, log: cfg.Logger.WithName("topology"),
	}
	if err := mgr.Add(n); err != nil {
		return fmt.Errorf("failed to add the topology notice: %w", err)
	}
	return nil
}

// topologyNotice reports on the Node how its topology changes, and warns
// when PVs on the node keep a node affinity the node no longer satisfies: a
// zone or region label changed or removed while volumes exist. Such PVs are
// left as they are (a PV's node affinity is immutable), so pods using them
// cannot be scheduled or start on the node until the labels are restored.
type topologyNotice struct {
	topology             *topology.Node
	client               client.Reader
	recorder             events.EventRecorder
	driverName, nodeName string
	log                  logr.Logger
}

// Start checks the node's PVs once the topology is known, which catches a
// change made while plinth-node was down, then after every change.
func (n *topologyNotice) Start(ctx context.Context) error {
	if err := n.topology.Wait(ctx); err != nil {
		return nil // stopped first
	}
	changed := n.topology.Changed()
	last := n.topology.Segments()
	n.check(ctx, nil, last)
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-changed:
		}
		changed = n.topology.Changed()
		now := n.topology.Segments()
		n.check(ctx, last, now)
		last = now
	}
}

// check reports the change from old (nil at start) to now.
func (n *topologyNotice) check(ctx context.Context, old, now map[string]string) {
	kept, err := n.volumesKeepingOldTopology(ctx, now)
	if err != nil {
		n.log.Error(err, "Failed to check the node's volumes against its topology", "topology", now)
		return
	}
	if len(kept) == 0 && old == nil {
		return
	}
	node := &corev1.Node{}
	if err := n.client.Get(ctx, client.ObjectKey{Name: n.nodeName}, node); err != nil {
		n.log.Error(err, "Failed to get the Node to report its topology change", "node", n.nodeName)
		return
	}
	if len(kept) == 0 {
		n.recorder.Eventf(node, nil, corev1.EventTypeNormal, ReasonTopologyChanged, "UpdateTopology",
			"Topology of %s changed from %v to %v: new volumes get it, existing volumes keep theirs", n.driverName, old, now)
		return
	}
	n.log.Info("Volumes keep the topology they were provisioned with, which the node no longer has",
		"topology", now, "previous", old, "volumes", kept)
	n.recorder.Eventf(node, nil, corev1.EventTypeWarning, ReasonVolumesKeepTopology, "UpdateTopology",
		"Topology of %s is now %v; %d volume(s) on this node (%s) keep the node affinity they were provisioned with, "+
			"which it no longer satisfies: pods using them cannot be scheduled or start here until the zone and region labels are restored; running pods are not affected",
		n.driverName, now, len(kept), names(kept))
}

// volumesKeepingOldTopology returns the PVs of the driver on this node whose
// node affinity the topology no longer satisfies.
func (n *topologyNotice) volumesKeepingOldTopology(ctx context.Context, now map[string]string) ([]string, error) {
	pvs := &corev1.PersistentVolumeList{}
	if err := n.client.List(ctx, pvs); err != nil {
		return nil, fmt.Errorf("failed to list PVs: %w", err)
	}
	var kept []string
	for _, pv := range pvs.Items {
		if pv.Spec.CSI == nil || pv.Spec.CSI.Driver != n.driverName || pv.Annotations[wellknown.AnnNode] != n.nodeName {
			continue
		}
		if !topology.Admits(pv.Spec.NodeAffinity, now) {
			kept = append(kept, pv.Name)
		}
	}
	slices.Sort(kept)
	return kept, nil
}

// names lists the first volumes, and how many more there are.
func names(volumes []string) string {
	if len(volumes) <= maxNamedVolumes {
		return strings.Join(volumes, ", ")
	}
	return fmt.Sprintf("%s and %d more", strings.Join(volumes[:maxNamedVolumes], ", "), len(volumes)-maxNamedVolumes)
}
