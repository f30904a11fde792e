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

package topology

import (
	"context"
	"fmt"
	"maps"
	"sync"

	"github.com/plinth-dev/plinth/internal/wellknown"

	"github.com/go-logr/logr"
	corev1 "k8s.io/api/core/v1"
	toolscache "k8s.io/client-go/tools/cache"

	"github.com/plinth-dev/plinth/csi-driver/driver"
)

// Informer is the part of a Node informer that Watch uses: a client-go
// shared informer or a controller-runtime cache's informer.
type Informer interface {
	AddEventHandler(handler toolscache.ResourceEventHandler) (toolscache.ResourceEventHandlerRegistration, error)
	RemoveEventHandler(handle toolscache.ResourceEventHandlerRegistration) error
}

// Node follows the topology of one Kubernetes Node: the driver's node key
// and the Node's Labels. It is unknown until Watch's informer has delivered
// its first list; from then on every change of the labels is published.
type Node struct {
	name string
	log  logr.Logger

	mu      sync.Mutex
	labels  map[string]string // nil while unknown
	known   chan struct{}     // closed once the labels are known
	changed chan struct{}     // closed and replaced on every change
}

// NewNode returns the topology of the Node named name, unknown until Watch
// has read it.
func NewNode(name string, log logr.Logger) *Node {
	return &Node{name: name, log: log, known: make(chan struct{}), changed: make(chan struct{})}
}

// Watch follows the Node through informer, which may watch other Nodes too,
// until ctx is done. It returns once its handler is added; the topology is
// known once the informer has synced, with the Node's labels, or with none
// when there is no such Node yet.
func (n *Node) Watch(ctx context.Context, informer Informer) error {
	reg, err := informer.AddEventHandler(toolscache.ResourceEventHandlerFuncs{
		AddFunc:    func(obj any) { n.observe(obj) },
		UpdateFunc: func(_, obj any) { n.observe(obj) },
		// A deleted Node keeps its last topology: everything plinth-node
		// publishes for it goes with it, and a Node registered again under
		// the same name is an add.
	})
	if err != nil {
		return fmt.Errorf("failed to watch node %s: %w", n.name, err)
	}
	go func() {
		if toolscache.WaitForCacheSync(ctx.Done(), reg.HasSynced) {
			n.synced()
		}
		<-ctx.Done()
		_ = informer.RemoveEventHandler(reg)
	}()
	return nil
}

// observe takes the labels of this Node from an informer event.
func (n *Node) observe(obj any) {
	node, ok := obj.(*corev1.Node)
	if !ok || node.Name != n.name {
		return
	}
	n.set(labelsOf(node))
}

// synced makes the topology known after the informer's first list, which
// did not hold the Node when its labels are still unknown.
func (n *Node) synced() {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.labels == nil {
		n.log.Info("Node not found; its topology is the node name only until it appears", "node", n.name)
		n.setLocked(map[string]string{})
	}
}

// set records the labels and, when they differ, publishes the change.
func (n *Node) set(labels map[string]string) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.setLocked(labels)
}

func (n *Node) setLocked(labels map[string]string) {
	old := n.labels
	if old != nil && maps.Equal(old, labels) {
		return
	}
	n.labels = labels
	if old == nil {
		close(n.known)
		n.log.Info("Node topology known", "node", n.name, "labels", labels)
	} else {
		n.log.Info("Node topology changed", "node", n.name, "from", old, "to", labels)
	}
	close(n.changed)
	n.changed = make(chan struct{})
}

// Segments returns the node's topology as NodeGetInfo reports it: the
// driver's node key and the Node's zone and region. It is nil while the
// topology is unknown.
func (n *Node) Segments() map[string]string {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.labels == nil {
		return nil
	}
	seg := maps.Clone(n.labels)
	seg[wellknown.TopologyKeyNode] = n.name
	return seg
}

// Changed returns a channel closed at the next change of Segments, the
// first being the topology becoming known. A subscriber takes the channel
// before it reads Segments, so that no change goes unnoticed:
//
//	for {
//		changed := n.Changed()
//		use(n.Segments())
//		<-changed
//	}
func (n *Node) Changed() <-chan struct{} {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.changed
}

// Wait returns once the topology is known, or with ctx's error.
func (n *Node) Wait(ctx context.Context) error {
	select {
	case <-n.known:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("topology of node %s not known yet: %w", n.name, ctx.Err())
	}
}

// Source returns the node's topology for the driver: it waits until the
// topology is known, so that no CSI call reports it without the zone.
func (n *Node) Source() driver.TopologySource {
	return func(ctx context.Context) (map[string]string, error) {
		if err := n.Wait(ctx); err != nil {
			return nil, err
		}
		return n.Segments(), nil
	}
}
