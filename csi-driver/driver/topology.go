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

package driver

import (
	"context"
	"fmt"
	"maps"

	"github.com/container-storage-interface/spec/lib/go/csi"

	"github.com/plinth-dev/plinth/internal/wellknown"
)

// TopologyKeyNode is the topology key whose value is the node name.
const TopologyKeyNode = wellknown.TopologyKeyNode

// TopologySource returns extra topology segments for this node, such as
// topology.kubernetes.io/zone and region. plinth-node feeds it from the Node
// object's labels; an empty map is fine.
type TopologySource func(ctx context.Context) (map[string]string, error)

// segments returns the node's full topology.
func (d *Driver) segments(ctx context.Context) (map[string]string, error) {
	seg := map[string]string{}
	if d.topology != nil {
		extra, err := d.topology(ctx)
		if err != nil {
			return nil, fmt.Errorf("failed to read node topology: %w", err)
		}
		maps.Copy(seg, extra)
	}
	seg[TopologyKeyNode] = d.nodeID
	return seg, nil
}

// reachable reports whether a volume created here satisfies reqs: the node
// must be in one of the requisite topologies when any are given. Preferred
// topologies only rank placements, and this driver has one placement.
func reachable(reqs *csi.TopologyRequirement, seg map[string]string) bool {
	if len(reqs.GetRequisite()) == 0 {
		return true
	}
	for _, t := range reqs.GetRequisite() {
		if within(t, seg) {
			return true
		}
	}
	return false
}

// within reports whether every segment of t matches this node.
func within(t *csi.Topology, seg map[string]string) bool {
	for k, v := range t.GetSegments() {
		if seg[k] != v {
			return false
		}
	}
	return true
}
