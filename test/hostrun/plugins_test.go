package hostrun_test

import (
	"context"
	"net"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/container-storage-interface/spec/lib/go/csi"
	"github.com/go-logr/logr"
	"google.golang.org/grpc"
	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/plinth-dev/plinth/csi-driver/registration"
)

const (
	fakeDriver      = "fake.csi.test"
	fakeTopologyKey = "topology.fake.csi.test/node"
)

// fakeNodeServer answers NodeGetInfo as a CSI node plugin would.
type fakeNodeServer struct {
	csi.UnimplementedNodeServer
	nodeID string
}

func (s *fakeNodeServer) NodeGetInfo(context.Context, *csi.NodeGetInfoRequest) (*csi.NodeGetInfoResponse, error) {
	return &csi.NodeGetInfoResponse{
		NodeId:             s.nodeID,
		MaxVolumesPerNode:  7,
		AccessibleTopology: &csi.Topology{Segments: map[string]string{fakeTopologyKey: s.nodeID}},
	}, nil
}

// fakePlugin serves a CSI node socket and a registration socket on node-1,
// as a node plugin with our registration server does.
type fakePlugin struct {
	reg  *registration.Server
	stop func()
}

// startFakePlugin serves the CSI socket under the node's root, and reports
// it to the kubelet as the node path the runner has to map.
func (c *cluster) startFakePlugin(t *testing.T, nodeID string) *fakePlugin {
	nodeRoot := filepath.Join(c.root, "node-1")
	kubeletPath := "/var/lib/kubelet/plugins/" + fakeDriver + "/csi.sock"
	csiServer := grpc.NewServer()
	csi.RegisterNodeServer(csiServer, &fakeNodeServer{nodeID: nodeID})
	serve(t, csiServer, filepath.Join(nodeRoot, kubeletPath))
	reg := registration.NewServer(fakeDriver, kubeletPath, logr.Discard())
	regCtx, stopReg := context.WithCancel(context.Background())
	regDone := make(chan error, 1)
	l := listen(t, registration.SocketPath(filepath.Join(nodeRoot, "var/lib/kubelet/plugins_registry"), fakeDriver))
	go func() { regDone <- reg.Serve(regCtx, l) }()
	p := &fakePlugin{reg: reg, stop: sync.OnceFunc(func() {
		stopReg()
		if err := <-regDone; err != nil {
			t.Errorf("registration server: %v", err)
		}
		csiServer.Stop()
	})}
	t.Cleanup(p.stop)
	return p
}

func serve(t *testing.T, srv *grpc.Server, sock string) {
	l := listen(t, sock)
	go func() { _ = srv.Serve(l) }()
}

// listen listens on a fresh unix socket at sock.
func listen(t *testing.T, sock string) net.Listener {
	if err := os.MkdirAll(filepath.Dir(sock), 0o750); err != nil {
		t.Fatal(err)
	}
	_ = os.Remove(sock)
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func (c *cluster) assertPluginRegistration(ctx context.Context, t *testing.T) {
	first := c.startFakePlugin(t, "fake-node-1")
	c.waitRegistered(ctx, t, first, "fake-node-1")
	first.stop() // a restart of the plugin: both sockets are recreated
	second := c.startFakePlugin(t, "fake-node-1-again")
	c.waitRegistered(ctx, t, second, "fake-node-1-again")
}

// waitRegistered waits until CSINode lists the driver with nodeID, the node
// carries the topology label, and the plugin heard that it is registered.
func (c *cluster) waitRegistered(ctx context.Context, t *testing.T, p *fakePlugin, nodeID string) {
	poll(ctx, t, "driver registered with node ID "+nodeID, func(ctx context.Context) (bool, error) {
		csiNode := &storagev1.CSINode{}
		if err := c.cp.Client.Get(ctx, client.ObjectKey{Name: "node-1"}, csiNode); err != nil {
			return false, client.IgnoreNotFound(err)
		}
		node := &corev1.Node{}
		if err := c.cp.Client.Get(ctx, client.ObjectKey{Name: "node-1"}, node); err != nil {
			return false, err
		}
		return hasDriver(csiNode, nodeID) && node.Labels[fakeTopologyKey] == nodeID && p.reg.Registered(), nil
	})
}

func hasDriver(csiNode *storagev1.CSINode, nodeID string) bool {
	for _, d := range csiNode.Spec.Drivers {
		if d.Name == fakeDriver && d.NodeID == nodeID && len(d.TopologyKeys) == 1 && d.TopologyKeys[0] == fakeTopologyKey &&
			d.Allocatable != nil && d.Allocatable.Count != nil && *d.Allocatable.Count == 7 {
			return true
		}
	}
	return false
}
