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

package realnodes

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	networkv1alpha1 "github.com/plinth-dev/plinth/apis/network/v1alpha1"
	"github.com/plinth-dev/plinth/cni-plugin/agent"
	"github.com/plinth-dev/plinth/test/localcluster"
)

// The two nodes of nodeSpecs, on one subnet of the underlay.
var node1, node2 = nodeSpecs[0].Name, nodeSpecs[1].Name

const (
	// nodeDaemonSet is the chart's plinth-node DaemonSet.
	nodeDaemonSet = "plinth-node"
	// tlsToPlainHTTP is how a Go TLS server, the API server, answers a
	// plain HTTP request.
	tlsToPlainHTTP = "Client sent an HTTP request to an HTTPS server"
)

// TestPodsReachEachOtherAcrossNodes: with the chart's defaults, nodes of
// one subnet route each other's pod CIDRs directly via the peer's
// underlay address (host-gw, no VXLAN device), and pods, which get their
// addresses from their node's pod CIDR, reach each other on one node and
// across nodes: TCP (short answers and 1 MiB transfers) and ICMP.
func TestPodsReachEachOtherAcrossNodes(t *testing.T) {
	e := cluster(t)
	n1, n2 := e.node(t, node1), e.node(t, node2)
	for _, pair := range [][2]*localcluster.Node{{n1, n2}, {n2, n1}} {
		e.expectHostGW(t, pair[0], pair[1])
	}
	ns := e.namespace(t, "net-host-gw")
	e.expectConnectivity(t, ns, e.echoTrio(t, ns))
}

// TestPodsReachEachOtherOverVXLAN: once the ClusterNetwork asks for VXLAN
// and the agents restart (they read it at start), each node routes the
// other's pod CIDR through the VXLAN device, and pods reach each other
// through the tunnel. Switching back restores host-gw.
func TestPodsReachEachOtherOverVXLAN(t *testing.T) {
	e := cluster(t)
	n1, n2 := e.node(t, node1), e.node(t, node2)
	e.useMode(t, networkv1alpha1.ModeVXLAN, n1, n2)
	for _, pair := range [][2]*localcluster.Node{{n1, n2}, {n2, n1}} {
		e.expectVXLAN(t, pair[0], pair[1])
	}
	sent, err := txPackets(t.Context(), n1, vxlanDevice)
	if err != nil {
		t.Fatal(err)
	}
	ns := e.namespace(t, "net-vxlan")
	e.expectConnectivity(t, ns, e.echoTrio(t, ns))
	after, err := txPackets(t.Context(), n1, vxlanDevice)
	if err != nil {
		t.Fatal(err)
	}
	if after <= sent {
		t.Errorf("%s of %s sent no packet while its pods talked to %s's (%d packets before, %d after)", vxlanDevice, node1, node2, sent, after)
	}
}

// TestPodsReachAClusterIPService: pods on either node reach both backends,
// one per node, of a ClusterIP Service through kube-proxy's rules, and reach
// the API server through the kubernetes Service, which only the agent's
// masquerade makes possible: the control plane has no route to pod CIDRs.
func TestPodsReachAClusterIPService(t *testing.T) {
	e := cluster(t)
	ns := e.namespace(t, "net-service")
	e.create(t, echoDeployment(ns, "echo", 2), echoService(ns, "echo"),
		testPod(ns, "client-1", "", onNode(node1)), testPod(ns, "client-2", "", onNode(node2)))
	backends := e.readyBackends(t, ns, "echo", 2)
	svc, api := e.clusterIP(t, ns, "echo"), e.clusterIP(t, metav1.NamespaceDefault, "kubernetes")
	for _, c := range []struct{ client, node string }{{"client-1", node1}, {"client-2", node2}} {
		t.Run("from "+c.node, func(t *testing.T) {
			e.running(t, ns, c.client)
			e.expectBackends(t, ns, c.client, svc, backends)
			e.expectAPIServer(t, ns, c.client, e.node(t, c.node), api)
		})
	}
}

// TestDeletedPodsLeaveNoInterfaceRouteOrReservation: deleting pods removes
// from their node the host end of their veth, the host route to their
// address and their IPAM reservation. All of it is gone before the agent's
// sweeper could have released a reservation this young, so the runtime's
// DEL is what removed it.
func TestDeletedPodsLeaveNoInterfaceRouteOrReservation(t *testing.T) {
	const perNode = 3
	e := cluster(t)
	ns := e.namespace(t, "net-teardown")
	nodes := []*localcluster.Node{e.node(t, node1), e.node(t, node2)}
	before := map[string]map[string]reservation{}
	var pods []client.Object
	for _, n := range nodes {
		rs, err := reservations(n)
		if err != nil {
			t.Fatal(err)
		}
		before[n.Name()] = rs
		for i := range perNode {
			pods = append(pods, testPod(ns, fmt.Sprintf("%s-%d", n.Name(), i), "", onNode(n.Name())))
		}
	}
	e.create(t, pods...)
	var atts []attachment
	for _, p := range pods {
		atts = append(atts, e.attachment(t, e.running(t, ns, p.GetName())))
	}
	e.deleteAndWait(t, pods...)
	deadline := sweepable(atts)
	for _, a := range atts {
		e.pollBefore(t, deadline, fmt.Sprintf("teardown of %s on %s", a.pod, a.node.Name()), a.gone)
	}
	for _, n := range nodes {
		e.pollBefore(t, deadline, "the reservations of "+n.Name()+" to be those before the test", func(context.Context) (bool, error) {
			return onlyThese(n, before[n.Name()])
		})
	}
}

// sweepable is when the agent's sweeper may start releasing the first of
// the attachments' reservations, were the runtime not to.
func sweepable(atts []attachment) time.Time {
	first := atts[0].res.created
	for _, a := range atts[1:] {
		if a.res.created.Before(first) {
			first = a.res.created
		}
	}
	return first.Add(agent.DefaultSweepGrace)
}

// expectHostGW checks that n routes peer's pod CIDR via peer's underlay
// address on a device that is not a VXLAN device.
func (e *env) expectHostGW(t *testing.T, n, peer *localcluster.Node) {
	t.Helper()
	cidr := e.podCIDR(t, peer.Name())
	r, err := routeTo(t.Context(), n, cidr.String())
	if err != nil {
		t.Fatal(err)
	}
	if r.via != peer.IP.String() {
		t.Fatalf("%s routes %s's pod CIDR %s as %v, want via %s", n.Name(), peer.Name(), cidr, r, peer.IP)
	}
	if vx, err := isVXLAN(t.Context(), n, r.dev); err != nil || vx {
		t.Fatalf("%s routes %s over %s, a VXLAN device (%v)", n.Name(), cidr, r.dev, err)
	}
}

// expectVXLAN waits until n routes peer's pod CIDR through the VXLAN device.
func (e *env) expectVXLAN(t *testing.T, n, peer *localcluster.Node) {
	t.Helper()
	cidr := e.podCIDR(t, peer.Name())
	r := e.waitRoute(t, n, cidr, "over "+vxlanDevice, func(r route) bool { return r.dev == vxlanDevice })
	if vx, err := isVXLAN(t.Context(), n, r.dev); err != nil || !vx {
		t.Fatalf("%s routes %s over %s, which is no VXLAN device (%v)", n.Name(), cidr, r.dev, err)
	}
}

// trio is two echo pods on node-1 and one on node-2.
type trio struct {
	first, neighbour, remote *corev1.Pod
}

// echoTrio starts a trio of echo pods and returns them ready.
func (e *env) echoTrio(t *testing.T, ns string) trio {
	t.Helper()
	e.create(t, echoPod(ns, "first", node1), echoPod(ns, "neighbour", node1), echoPod(ns, "remote", node2))
	return trio{first: e.running(t, ns, "first"), neighbour: e.running(t, ns, "neighbour"), remote: e.running(t, ns, "remote")}
}

// expectConnectivity checks TCP across nodes both ways and on one node,
// and ICMP across nodes both ways.
func (e *env) expectConnectivity(t *testing.T, ns string, pods trio) {
	t.Helper()
	paths := []struct {
		name     string
		from, to *corev1.Pod
		check    func(testing.TB, string, string, *corev1.Pod)
	}{
		{"TCP to the other node", pods.first, pods.remote, e.expectReply},
		{"TCP back from the other node", pods.remote, pods.first, e.expectReply},
		{"TCP on one node", pods.first, pods.neighbour, e.expectReply},
		{"1 MiB to the other node", pods.first, pods.remote, e.expectBlob},
		{"1 MiB back from the other node", pods.remote, pods.first, e.expectBlob},
		{"ping to the other node", pods.first, pods.remote, e.expectPing},
		{"ping back from the other node", pods.remote, pods.first, e.expectPing},
	}
	for _, p := range paths {
		t.Run(p.name, func(t *testing.T) { p.check(t, ns, p.from.Name, p.to) })
	}
}

// useMode makes the ClusterNetwork "default" ask for mode, creating it for
// the cluster's pod CIDR if there is none, and restarts the agents so that
// they read it. At cleanup the ClusterNetwork is restored (or deleted), the
// agents restart again, and the routes between nodes are back as they were.
func (e *env) useMode(t *testing.T, mode networkv1alpha1.Mode, nodes ...*localcluster.Node) {
	t.Helper()
	key := client.ObjectKey{Name: "default"}
	old := &networkv1alpha1.ClusterNetwork{}
	err := e.client.Get(t.Context(), key, old)
	if client.IgnoreNotFound(err) != nil {
		t.Fatal(err)
	}
	existed := err == nil
	routes := e.peerRoutes(t, nodes)
	t.Cleanup(func() {
		e.restoreClusterNetwork(t, old, existed)
		e.restartAgents(t)
		e.waitRoutes(t, routes)
	})
	cn := old.DeepCopy()
	if !existed {
		cn = &networkv1alpha1.ClusterNetwork{ObjectMeta: metav1.ObjectMeta{Name: key.Name},
			Spec: networkv1alpha1.ClusterNetworkSpec{PodCIDRs: []string{localcluster.DefaultClusterCIDR}}}
	}
	cn.Spec.Mode = mode
	if existed {
		err = e.client.Update(t.Context(), cn)
	} else {
		err = e.client.Create(t.Context(), cn)
	}
	if err != nil {
		t.Fatalf("failed to set the ClusterNetwork's mode to %s: %v", mode, err)
	}
	e.restartAgents(t)
}

// restoreClusterNetwork puts the ClusterNetwork's spec back to old's, or
// deletes it when there was none.
func (e *env) restoreClusterNetwork(t *testing.T, old *networkv1alpha1.ClusterNetwork, existed bool) {
	t.Helper()
	ctx := context.WithoutCancel(t.Context())
	if !existed {
		cn := &networkv1alpha1.ClusterNetwork{ObjectMeta: metav1.ObjectMeta{Name: "default"}}
		if err := e.client.Delete(ctx, cn); client.IgnoreNotFound(err) != nil {
			t.Errorf("failed to delete the ClusterNetwork: %v", err)
		}
		return
	}
	cn := &networkv1alpha1.ClusterNetwork{}
	if err := e.client.Get(ctx, client.ObjectKeyFromObject(old), cn); err != nil {
		t.Errorf("failed to read the ClusterNetwork back: %v", err)
		return
	}
	cn.Spec = old.Spec
	if err := e.client.Update(ctx, cn); err != nil {
		t.Errorf("failed to restore the ClusterNetwork: %v", err)
	}
}

// peerRoutes records each node's routes to the other nodes' pod CIDRs.
func (e *env) peerRoutes(t *testing.T, nodes []*localcluster.Node) map[*localcluster.Node]map[netip.Prefix]route {
	t.Helper()
	out := map[*localcluster.Node]map[netip.Prefix]route{}
	for _, n := range nodes {
		out[n] = map[netip.Prefix]route{}
		for _, peer := range nodes {
			if peer == n {
				continue
			}
			cidr := e.podCIDR(t, peer.Name())
			r, err := routeTo(t.Context(), n, cidr.String())
			if err != nil {
				t.Fatal(err)
			}
			out[n][cidr] = r
		}
	}
	return out
}

// waitRoutes waits until the nodes route as recorded by peerRoutes.
func (e *env) waitRoutes(t *testing.T, routes map[*localcluster.Node]map[netip.Prefix]route) {
	t.Helper()
	for n, byCIDR := range routes {
		for cidr, want := range byCIDR {
			e.waitRoute(t, n, cidr, "back to "+want.String(), func(r route) bool { return r == want })
		}
	}
}

// restartAgents restarts plinth-node everywhere, as `kubectl rollout
// restart` does, and waits until every node runs a ready new one.
func (e *env) restartAgents(t *testing.T) {
	t.Helper()
	ctx := context.WithoutCancel(t.Context())
	ds := &appsv1.DaemonSet{}
	key := client.ObjectKey{Namespace: releaseNS, Name: nodeDaemonSet}
	if err := e.client.Get(ctx, key, ds); err != nil {
		t.Fatal(err)
	}
	patch := client.MergeFrom(ds.DeepCopy())
	if ds.Spec.Template.Annotations == nil {
		ds.Spec.Template.Annotations = map[string]string{}
	}
	ds.Spec.Template.Annotations["kubectl.kubernetes.io/restartedAt"] = time.Now().Format(time.RFC3339Nano)
	if err := e.client.Patch(ctx, ds, patch); err != nil {
		t.Fatalf("failed to restart %s: %v", nodeDaemonSet, err)
	}
	e.poll(t, nodeDaemonSet+" restarted and ready on every node", func(ctx context.Context) (bool, error) {
		if err := e.client.Get(ctx, key, ds); err != nil {
			return false, err
		}
		s := ds.Status
		done := s.ObservedGeneration >= ds.Generation && s.DesiredNumberScheduled > 0 &&
			s.UpdatedNumberScheduled == s.DesiredNumberScheduled && s.NumberAvailable == s.DesiredNumberScheduled && s.NumberUnavailable == 0
		return done, fmt.Errorf("status %+v, generation %d", s, ds.Generation)
	})
}

// echoDeployment runs replicas echo servers spread over the nodes.
func echoDeployment(ns, name string, replicas int32) *appsv1.Deployment {
	pod := testPod(ns, name, echoServer, listening(echoPort))
	selector := &metav1.LabelSelector{MatchLabels: pod.Labels}
	pod.Spec.TopologySpreadConstraints = []corev1.TopologySpreadConstraint{{
		MaxSkew: 1, TopologyKey: corev1.LabelHostname, WhenUnsatisfiable: corev1.DoNotSchedule, LabelSelector: selector,
	}}
	return &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec: appsv1.DeploymentSpec{
			Replicas: ptr.To(replicas),
			Selector: selector,
			Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: pod.Labels}, Spec: pod.Spec},
		},
	}
}

// echoService is a ClusterIP Service on port 80 to the echo servers app=name.
func echoService(ns, name string) *corev1.Service {
	return &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec: corev1.ServiceSpec{
			Selector: map[string]string{"app": name},
			Ports:    []corev1.ServicePort{{Port: 80, TargetPort: intstr.FromInt(echoPort)}},
		},
	}
}

// readyBackends waits until n pods app=name are ready, on n different
// nodes, and returns their names.
func (e *env) readyBackends(t *testing.T, ns, name string, n int) map[string]bool {
	t.Helper()
	var readyPods []corev1.Pod
	e.poll(t, fmt.Sprintf("%d ready pods of %s", n, name), func(ctx context.Context) (bool, error) {
		var pods corev1.PodList
		err := e.client.List(ctx, &pods, client.InNamespace(ns), client.MatchingLabels{"app": name})
		readyPods = slices.DeleteFunc(pods.Items, func(p corev1.Pod) bool { return !ready(&p) })
		return err == nil && len(readyPods) == n, err
	})
	names, nodes := map[string]bool{}, map[string]bool{}
	for _, p := range readyPods {
		names[p.Name], nodes[p.Spec.NodeName] = true, true
	}
	if len(nodes) != n {
		t.Fatalf("the %d pods of %s run on %d nodes, want one per node", n, name, len(nodes))
	}
	return names
}

// clusterIP is the Service's cluster IP.
func (e *env) clusterIP(t *testing.T, ns, name string) string {
	t.Helper()
	svc := &corev1.Service{}
	if err := e.client.Get(t.Context(), client.ObjectKey{Namespace: ns, Name: name}, svc); err != nil {
		t.Fatal(err)
	}
	if svc.Spec.ClusterIP == "" || svc.Spec.ClusterIP == corev1.ClusterIPNone {
		t.Fatalf("Service %s/%s has no cluster IP", ns, name)
	}
	return svc.Spec.ClusterIP
}

// expectBackends waits until the pod from has been answered by every
// backend through the Service at ip:80, failing at once on an answer from
// anything else.
func (e *env) expectBackends(t *testing.T, ns, from, ip string, backends map[string]bool) {
	t.Helper()
	seen := map[string]bool{}
	e.poll(t, fmt.Sprintf("%s to reach every backend through %s:80", from, ip), func(ctx context.Context) (bool, error) {
		out, err := e.fetch(ctx, ns, from, ip, 80)
		if err != nil {
			return false, err
		}
		name, ok := strings.CutPrefix(out, "hello from ")
		if !ok || !backends[name] {
			t.Fatalf("%s reached %s:80 and got %q, from none of the backends %v", from, ip, out, backends)
		}
		seen[name] = true
		return len(seen) == len(backends), fmt.Errorf("answered by %v only", seen)
	})
}

// expectAPIServer waits until the pod from gets the API server's answer to
// a plain HTTP request through the kubernetes Service at ip:443, and checks
// that its node's agent masqueraded the connection.
func (e *env) expectAPIServer(t *testing.T, ns, from string, n *localcluster.Node, ip string) {
	t.Helper()
	before, err := masqueraded(t.Context(), n)
	if err != nil {
		t.Fatal(err)
	}
	script := fmt.Sprintf(`printf 'GET / HTTP/1.0\r\n\r\n' | nc -w 5 %s 443`, ip)
	e.poll(t, fmt.Sprintf("%s to reach the API server at %s:443", from, ip), func(ctx context.Context) (bool, error) {
		out, err := e.sh(ctx, ns, from, script)
		if err != nil {
			return false, err
		}
		return strings.Contains(out, tlsToPlainHTTP), fmt.Errorf("answer %q", out)
	})
	after, err := masqueraded(t.Context(), n)
	if err != nil {
		t.Fatal(err)
	}
	if after <= before {
		t.Errorf("%s's masquerade rule counted no connection (%d before, %d after) while %s reached the API server", n.Name(), before, after, from)
	}
}

// attachment is what plinth-cni set up on a node for one pod.
type attachment struct {
	pod  string
	node *localcluster.Node
	ip   netip.Addr
	res  reservation
}

// attachment finds the pod's reservation, host veth and host route, and
// checks that they belong together.
func (e *env) attachment(t *testing.T, p *corev1.Pod) attachment {
	t.Helper()
	a := attachment{pod: p.Name, node: e.node(t, p.Spec.NodeName), ip: e.podIP(t, p)}
	rs, err := reservations(a.node)
	if err != nil {
		t.Fatal(err)
	}
	var found []reservation
	for _, r := range rs {
		if slices.Contains(r.ips, a.ip.String()) {
			found = append(found, r)
		}
	}
	if len(found) != 1 {
		t.Fatalf("%s holds %d reservations of %s's address %s, want 1: %v", a.node.Name(), len(found), p.Name, a.ip, found)
	}
	a.res = found[0]
	if a.res.podUID != string(p.UID) || a.res.created.IsZero() {
		t.Errorf("the reservation of %s is recorded for pod UID %q at %v, want %q at its creation", a.ip, a.res.podUID, a.res.created, p.UID)
	}
	r, err := routeTo(t.Context(), a.node, a.ip.String())
	if err != nil {
		t.Fatal(err)
	}
	if r.dev != a.res.veth() {
		t.Errorf("%s routes %s's address %s as %v, want dev %s", a.node.Name(), p.Name, a.ip, r, a.res.veth())
	}
	veths, err := hostVeths(t.Context(), a.node)
	if err != nil {
		t.Fatal(err)
	}
	if !veths[a.res.veth()] {
		t.Errorf("%s has no veth %s for %s", a.node.Name(), a.res.veth(), p.Name)
	}
	return a
}

// gone reports whether the attachment's veth, host route and reservation
// have all been removed, and otherwise what remains.
func (a attachment) gone(ctx context.Context) (bool, error) {
	var left []error
	veths, err := hostVeths(ctx, a.node)
	if err != nil {
		return false, err
	}
	if veths[a.res.veth()] {
		left = append(left, fmt.Errorf("veth %s", a.res.veth()))
	}
	r, err := routeTo(ctx, a.node, a.ip.String())
	if err != nil {
		return false, err
	}
	if r != (route{}) {
		left = append(left, fmt.Errorf("route %v", r))
	}
	rs, err := reservations(a.node)
	if err != nil {
		return false, err
	}
	if _, ok := rs[a.res.id]; ok {
		left = append(left, fmt.Errorf("reservation %s of %v", a.res.id, a.res.ips))
	}
	if len(left) > 0 {
		return false, fmt.Errorf("left: %w", errors.Join(left...))
	}
	return true, nil
}

// onlyThese reports whether the node holds no reservation besides before's.
func onlyThese(n *localcluster.Node, before map[string]reservation) (bool, error) {
	rs, err := reservations(n)
	if err != nil {
		return false, err
	}
	var extra []reservation
	for id, r := range rs {
		if _, ok := before[id]; !ok {
			extra = append(extra, r)
		}
	}
	if len(extra) > 0 {
		return false, fmt.Errorf("%d reservations, %d before the test; new: %v", len(rs), len(before), extra)
	}
	return true, nil
}
