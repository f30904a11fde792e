package nodeipam

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/netip"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/events"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/log"

	networkv1alpha1 "github.com/plinth-dev/plinth/apis/network/v1alpha1"
)

// ClusterNetworkName is the name of the cluster's one ClusterNetwork.
const ClusterNetworkName = "default"

// Reasons of the Events the allocator emits on Nodes.
const (
	// ReasonPodCIDRAllocated: the node got its blocks.
	ReasonPodCIDRAllocated = "PodCIDRAllocated"
	// ReasonPodCIDRExhausted: a pod CIDR has no free block for the node.
	ReasonPodCIDRExhausted = "PodCIDRExhausted"
	// ReasonPodCIDROutsideRange: the node's existing CIDR lies outside the
	// ClusterNetwork's pod CIDRs; the node is left alone.
	ReasonPodCIDROutsideRange = "PodCIDROutsideRange"
	// ReasonPodCIDRConflict: the node's existing CIDR overlaps another
	// node's block.
	ReasonPodCIDRConflict = "PodCIDRConflict"
)

// eventAction is the action of every Event the allocator emits.
const eventAction = "AllocatePodCIDR"

// Reconciler allocates Node.spec.podCIDRs from the ClusterNetwork. Every
// request, whatever Node or ClusterNetwork change caused it, reconciles the
// whole cluster under the one key ClusterNetworkName, so reconciles never
// overlap and allocation needs no lock.
type Reconciler struct {
	// Client reads through the manager's cache and writes Nodes and the
	// ClusterNetwork status.
	Client client.Client
	// APIReader reads from the API server directly: the allocator is rebuilt
	// from it, and a Node missing from the cache is confirmed gone with it,
	// so that a lagging cache never frees a block that is in use.
	APIReader client.Reader
	// Recorder emits Events on Nodes.
	Recorder events.EventRecorder

	state *state
}

// state is the allocator built for one ClusterNetwork spec.
type state struct {
	key   string
	alloc *allocator
	// seen maps each node to the podCIDRs already recorded for it, so that
	// a node's Warnings are emitted once per change, not every reconcile.
	seen map[string]string
	// waiting are the nodes told that the pod CIDRs are exhausted.
	waiting map[string]bool
}

// +kubebuilder:rbac:groups=network.plinth.dev,resources=clusternetworks,verbs=get;list;watch
// +kubebuilder:rbac:groups=network.plinth.dev,resources=clusternetworks/status,verbs=get;update;patch
// +kubebuilder:rbac:groups="",resources=nodes,verbs=get;list;watch;patch
// +kubebuilder:rbac:groups=events.k8s.io,resources=events,verbs=create;patch

// Reconcile brings every Node's pod CIDRs and the ClusterNetwork's status up
// to date.
func (r *Reconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	cn := &networkv1alpha1.ClusterNetwork{}
	if err := r.Client.Get(ctx, req.NamespacedName, cn); err != nil {
		if apierrors.IsNotFound(err) {
			r.state = nil // nothing to allocate from; rebuilt when one appears
			return ctrl.Result{}, nil
		}
		return ctrl.Result{}, fmt.Errorf("failed to get ClusterNetwork: %w", err)
	}
	if err := r.ensureState(ctx, cn); err != nil {
		return ctrl.Result{}, err
	}
	nodes, err := listNodes(ctx, r.Client)
	if err != nil {
		return ctrl.Result{}, err
	}
	if err := r.forgetDeleted(ctx, nodes); err != nil {
		return ctrl.Result{}, err
	}
	r.observe(ctx, nodes)
	unassigned, assignErr := r.assignPending(ctx, nodes)
	return ctrl.Result{}, errors.Join(assignErr, r.updateStatus(ctx, cn, unassigned))
}

// ensureState rebuilds the allocator from the Nodes on the API server when
// there is none yet (at start) or the spec changed (the ClusterNetwork was
// recreated).
func (r *Reconciler) ensureState(ctx context.Context, cn *networkv1alpha1.ClusterNetwork) error {
	key := specKey(&cn.Spec)
	if r.state != nil && r.state.key == key {
		return nil
	}
	alloc, err := allocatorFor(&cn.Spec)
	if err != nil {
		return err
	}
	nodes, err := listNodes(ctx, r.APIReader)
	if err != nil {
		return err
	}
	r.state = &state{key: key, alloc: alloc, seen: map[string]string{}, waiting: map[string]bool{}}
	r.observe(ctx, nodes)
	log.FromContext(ctx).Info("Rebuilt the pod CIDR allocator from the Nodes",
		"podCIDRs", cn.Spec.PodCIDRs, "nodes", len(nodes), "nodesWithBlocks", len(alloc.nodes))
	return nil
}

// specKey identifies what the allocator depends on in a spec.
func specKey(spec *networkv1alpha1.ClusterNetworkSpec) string {
	return fmt.Sprintf("%v/%d/%d", spec.PodCIDRs, spec.NodeMaskSize.IPv4, spec.NodeMaskSize.IPv6)
}

// allocatorFor returns an empty allocator of the spec's pod CIDRs.
func allocatorFor(spec *networkv1alpha1.ClusterNetworkSpec) (*allocator, error) {
	prefixes, err := parsePrefixes(spec.PodCIDRs)
	if err != nil {
		return nil, fmt.Errorf("failed to parse the ClusterNetwork pod CIDRs: %w", err)
	}
	maskIPv4 := int(cmp.Or(spec.NodeMaskSize.IPv4, 24))
	maskIPv6 := int(cmp.Or(spec.NodeMaskSize.IPv6, 64))
	return newAllocator(prefixes, maskIPv4, maskIPv6)
}

// listNodes lists every Node through reader.
func listNodes(ctx context.Context, reader client.Reader) ([]corev1.Node, error) {
	list := &corev1.NodeList{}
	if err := reader.List(ctx, list); err != nil {
		return nil, fmt.Errorf("failed to list Nodes: %w", err)
	}
	return list.Items, nil
}

// forgetDeleted frees the blocks of the nodes that are gone. A node missing
// from the cache is looked up on the API server first: the cache may not
// have caught up with a node that was just created.
func (r *Reconciler) forgetDeleted(ctx context.Context, nodes []corev1.Node) error {
	present := make(map[string]bool, len(nodes))
	for i := range nodes {
		present[nodes[i].Name] = true
	}
	known := append(r.state.alloc.nodeNames(), slices.Collect(maps.Keys(r.state.seen))...)
	known = append(known, slices.Collect(maps.Keys(r.state.waiting))...)
	for _, name := range known {
		if present[name] {
			continue
		}
		gone, err := r.nodeGone(ctx, name)
		if err != nil {
			return err
		}
		if gone {
			r.forget(ctx, name)
		}
		present[name] = true // looked at once is enough
	}
	return nil
}

// nodeGone reports whether the API server no longer has the Node.
func (r *Reconciler) nodeGone(ctx context.Context, name string) (bool, error) {
	err := r.APIReader.Get(ctx, client.ObjectKey{Name: name}, &corev1.Node{})
	if apierrors.IsNotFound(err) {
		return true, nil
	}
	if err != nil {
		return false, fmt.Errorf("failed to get Node %s: %w", name, err)
	}
	return false, nil
}

// forget frees a deleted node's blocks.
func (r *Reconciler) forget(ctx context.Context, name string) {
	if blocks := r.state.alloc.blocks(name); len(blocks) > 0 {
		log.FromContext(ctx).Info("Freed the pod CIDRs of a deleted Node", "node", name, "podCIDRs", blocks)
	}
	r.state.alloc.release(name)
	delete(r.state.seen, name)
	delete(r.state.waiting, name)
}

// observe records the pod CIDRs the nodes already have, and warns about the
// ones outside the pod CIDRs or overlapping another node's.
func (r *Reconciler) observe(ctx context.Context, nodes []corev1.Node) {
	for i := range nodes {
		node := &nodes[i]
		cidrs := podCIDRsOf(node)
		key := strings.Join(cidrs, ",")
		if len(cidrs) == 0 || r.state.seen[node.Name] == key {
			continue
		}
		r.state.seen[node.Name] = key
		delete(r.state.waiting, node.Name)
		prefixes, err := parsePrefixes(cidrs)
		if err != nil {
			log.FromContext(ctx).Error(err, "Ignoring a Node's unparsable pod CIDRs", "node", node.Name)
			continue
		}
		r.warn(node, r.state.alloc.occupy(node.Name, prefixes))
	}
}

// warn emits the Warnings about a node's existing CIDRs.
func (r *Reconciler) warn(node *corev1.Node, occ occupation) {
	if len(occ.outside) > 0 {
		r.Recorder.Eventf(node, nil, corev1.EventTypeWarning, ReasonPodCIDROutsideRange, eventAction,
			"Pod CIDRs %v lie outside the ClusterNetwork's pod CIDRs; leaving the node alone", occ.outside)
	}
	if len(occ.sharedWith) > 0 {
		r.Recorder.Eventf(node, nil, corev1.EventTypeWarning, ReasonPodCIDRConflict, eventAction,
			"Pod CIDRs %v overlap the blocks of nodes %v", podCIDRsOf(node), occ.sharedWith)
	}
}

// podCIDRsOf returns a node's pod CIDRs, from the older single field when
// the list is empty.
func podCIDRsOf(node *corev1.Node) []string {
	if len(node.Spec.PodCIDRs) > 0 {
		return node.Spec.PodCIDRs
	}
	if node.Spec.PodCIDR != "" {
		return []string{node.Spec.PodCIDR}
	}
	return nil
}

// parsePrefixes parses CIDR strings.
func parsePrefixes(cidrs []string) ([]netip.Prefix, error) {
	prefixes := make([]netip.Prefix, 0, len(cidrs))
	for _, c := range cidrs {
		p, err := netip.ParsePrefix(c)
		if err != nil {
			return nil, fmt.Errorf("failed to parse CIDR: %w", err)
		}
		prefixes = append(prefixes, p)
	}
	return prefixes, nil
}

// assignPending gives blocks to the nodes without pod CIDRs, oldest first,
// and returns the names of those still without.
func (r *Reconciler) assignPending(ctx context.Context, nodes []corev1.Node) ([]string, error) {
	pending := slices.DeleteFunc(slices.Clone(nodes), func(n corev1.Node) bool {
		return len(podCIDRsOf(&n)) > 0 || n.DeletionTimestamp != nil
	})
	slices.SortFunc(pending, func(a, b corev1.Node) int {
		return cmp.Or(a.CreationTimestamp.Compare(b.CreationTimestamp.Time), cmp.Compare(a.Name, b.Name))
	})
	var unassigned []string
	var errs []error
	for i := range pending {
		err := r.assign(ctx, &pending[i])
		if apierrors.IsNotFound(err) {
			continue // deleted meanwhile; the next reconcile frees its blocks
		}
		if err != nil {
			unassigned = append(unassigned, pending[i].Name)
			if !errors.Is(err, errExhausted) {
				errs = append(errs, err)
			}
		}
	}
	return unassigned, errors.Join(errs...)
}

// assign allocates blocks for one node and writes them to it.
func (r *Reconciler) assign(ctx context.Context, node *corev1.Node) error {
	blocks, err := r.state.alloc.allocate(node.Name)
	if errors.Is(err, errExhausted) {
		if !r.state.waiting[node.Name] {
			r.state.waiting[node.Name] = true
			r.Recorder.Eventf(node, nil, corev1.EventTypeWarning, ReasonPodCIDRExhausted, eventAction,
				"No pod CIDR for the node: %v", err)
		}
		return err
	}
	if err := r.writePodCIDRs(ctx, node, blocks); err != nil {
		// The blocks stay reserved for the node: the write may have landed.
		return err
	}
	delete(r.state.waiting, node.Name)
	log.FromContext(ctx).Info("Allocated pod CIDRs", "node", node.Name, "podCIDRs", blocks)
	r.Recorder.Eventf(node, nil, corev1.EventTypeNormal, ReasonPodCIDRAllocated, eventAction, "Allocated pod CIDRs %v", blocks)
	return nil
}

// writePodCIDRs sets spec.podCIDR and spec.podCIDRs in one patch: both are
// immutable once set. The UID in the patch makes it fail on a node that was
// recreated under the same name (the UID is immutable), and no resource
// version is sent, so the node's own status updates do not conflict with it.
func (r *Reconciler) writePodCIDRs(ctx context.Context, node *corev1.Node, blocks []netip.Prefix) error {
	cidrs := make([]string, len(blocks))
	for i, b := range blocks {
		cidrs[i] = b.String()
	}
	patch, err := json.Marshal(map[string]any{
		"metadata": map[string]any{"uid": node.UID},
		"spec":     map[string]any{"podCIDR": cidrs[0], "podCIDRs": cidrs},
	})
	if err != nil {
		return fmt.Errorf("failed to encode the Node patch: %w", err)
	}
	if err := r.Client.Patch(ctx, node, client.RawPatch(types.MergePatchType, patch)); err != nil {
		return fmt.Errorf("failed to set the pod CIDRs of Node %s: %w", node.Name, err)
	}
	return nil
}
