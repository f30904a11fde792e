package hostrun

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/container-storage-interface/spec/lib/go/csi"
	"github.com/go-logr/logr"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"k8s.io/apimachinery/pkg/util/wait"
	registerapi "k8s.io/kubelet/pkg/apis/pluginregistration/v1"
)

const (
	// pluginScanInterval is how often plugins_registry is listed; the
	// kubelet uses inotify, a poll is simpler and fast enough here.
	pluginScanInterval = 200 * time.Millisecond
	// pluginRetryInterval spaces out attempts at a failed registration.
	pluginRetryInterval = time.Second
	pluginCallTimeout   = 10 * time.Second
	// maxSocketPath is the longest path a unix socket address holds.
	maxSocketPath = 107
)

// pluginWatcher registers the plugins whose sockets appear in one node's
// plugins_registry, as the kubelet's plugin watcher does.
type pluginWatcher struct {
	r       *Runner
	node    string
	dir     string
	log     logr.Logger
	sockets map[string]*pluginSocket
}

// pluginSocket is what the watcher knows of one registration socket.
type pluginSocket struct {
	id         socketID
	driver     string // set once registered
	registered bool
	retryAt    time.Time
}

// socketID tells a recreated socket (a restarted plugin) from the old one.
type socketID struct {
	ino   uint64
	ctime syscall.Timespec
}

func (r *Runner) watchPlugins(node string) {
	pw := &pluginWatcher{
		r: r, node: node, dir: r.opts.registryDir(node),
		log:     r.log.WithValues("node", node),
		sockets: map[string]*pluginSocket{},
	}
	r.watchers.Go(func() { wait.UntilWithContext(r.ctx, pw.scan, pluginScanInterval) })
}

// scan registers new and recreated sockets, retries failed registrations
// and unregisters the drivers whose sockets are gone.
func (pw *pluginWatcher) scan(ctx context.Context) {
	entries, err := os.ReadDir(pw.dir)
	if err != nil {
		pw.log.Error(err, "Failed to list the plugin registry")
		return
	}
	seen := map[string]bool{}
	for _, e := range entries {
		if e.Type()&fs.ModeSocket == 0 {
			continue
		}
		path := filepath.Join(pw.dir, e.Name())
		id, err := statSocket(path)
		if err != nil {
			continue // removed meanwhile
		}
		seen[path] = true
		pw.visit(ctx, path, id)
	}
	for path, s := range pw.sockets {
		if !seen[path] {
			delete(pw.sockets, path)
			pw.unregister(ctx, s)
		}
	}
}

func (pw *pluginWatcher) visit(ctx context.Context, path string, id socketID) {
	s := pw.sockets[path]
	if s != nil && s.id == id && (s.registered || time.Now().Before(s.retryAt)) {
		return
	}
	if s == nil || s.id != id {
		s = &pluginSocket{id: id}
		pw.sockets[path] = s
	}
	driver, err := pw.register(ctx, path)
	if err != nil {
		pw.log.Error(err, "Plugin registration failed, retrying", "socket", path)
		s.retryAt = time.Now().Add(pluginRetryInterval)
		return
	}
	s.driver, s.registered = driver, true
	pw.log.Info("Registered CSI driver", "driver", driver, "socket", path)
}

func (pw *pluginWatcher) unregister(ctx context.Context, s *pluginSocket) {
	if !s.registered {
		return
	}
	if err := unregisterCSIDriver(ctx, pw.r.client, pw.node, s.driver); err != nil {
		pw.log.Error(err, "Failed to unregister CSI driver", "driver", s.driver)
		return
	}
	pw.log.Info("Unregistered CSI driver", "driver", s.driver)
}

func statSocket(path string) (socketID, error) {
	var st syscall.Stat_t
	if err := syscall.Stat(path, &st); err != nil {
		return socketID{}, fmt.Errorf("failed to stat %s: %w", path, err)
	}
	return socketID{ino: st.Ino, ctime: st.Ctim}, nil
}

// register asks the plugin what it is, registers its CSI driver and tells
// the plugin the outcome. It returns the driver's name.
func (pw *pluginWatcher) register(ctx context.Context, sock string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, pluginCallTimeout)
	defer cancel()
	conn, err := dialUnix(sock)
	if err != nil {
		return "", err
	}
	defer func() { _ = conn.Close() }()
	plugin := registerapi.NewRegistrationClient(conn)
	info, err := plugin.GetInfo(ctx, &registerapi.InfoRequest{})
	if err != nil {
		return "", fmt.Errorf("failed to get plugin info: %w", err)
	}
	regErr := pw.registerCSI(ctx, info)
	status := &registerapi.RegistrationStatus{PluginRegistered: regErr == nil}
	if regErr != nil {
		status.Error = regErr.Error()
	}
	if _, err := plugin.NotifyRegistrationStatus(ctx, status); err != nil {
		return "", errors.Join(regErr, fmt.Errorf("failed to notify the plugin: %w", err))
	}
	return info.GetName(), regErr
}

// registerCSI calls NodeGetInfo on the driver's endpoint, a path on the
// node, and records the driver for the node.
func (pw *pluginWatcher) registerCSI(ctx context.Context, info *registerapi.PluginInfo) error {
	if info.GetType() != registerapi.CSIPlugin {
		return fmt.Errorf("plugin %s has type %q, only %s is supported", info.GetName(), info.GetType(), registerapi.CSIPlugin)
	}
	conn, err := dialUnix(pw.hostEndpoint(info.GetEndpoint()))
	if err != nil {
		return err
	}
	defer func() { _ = conn.Close() }()
	nodeInfo, err := csi.NewNodeClient(conn).NodeGetInfo(ctx, &csi.NodeGetInfoRequest{})
	if err != nil {
		return fmt.Errorf("failed to get node info from driver %s: %w", info.GetName(), err)
	}
	return RegisterCSIDriver(ctx, pw.r.client, pw.node, info.GetName(), nodeInfo)
}

// hostEndpoint maps the endpoint a plugin reports, a path on the node, to
// the host. A path already under the node's root (the runner rewrote the
// plugin's arguments) is kept.
func (pw *pluginWatcher) hostEndpoint(endpoint string) string {
	endpoint = strings.TrimPrefix(endpoint, "unix://")
	root := pw.r.opts.nodeRoot(pw.node)
	if endpoint == root || strings.HasPrefix(endpoint, root+"/") {
		return endpoint
	}
	return pw.r.opts.hostPathOnHost(pw.node, endpoint)
}

func dialUnix(path string) (*grpc.ClientConn, error) {
	if len(path) > maxSocketPath {
		return nil, fmt.Errorf("socket path %s is longer than %d bytes: use a shorter Root", path, maxSocketPath)
	}
	conn, err := grpc.NewClient("unix://"+path, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return nil, fmt.Errorf("failed to connect to %s: %w", path, err)
	}
	return conn, nil
}
