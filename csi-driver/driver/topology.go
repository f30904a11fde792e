package driver

import (
	"context"
	"fmt"
	"maps"

	"github.com/container-storage-interface/spec/lib/go/csi"
)

// TopologyKeyNode is the topology key whose value is the node name.
const TopologyKeyNode = "topology.csi.plinth.dev/node"

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
