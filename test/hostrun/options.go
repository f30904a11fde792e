package hostrun

import (
	"errors"
	"fmt"
	"path/filepath"

	"github.com/go-logr/logr"
	"k8s.io/client-go/rest"
)

// DefaultKubeletDir is the kubelet's directory on a node, under which its
// plugins_registry is watched.
const DefaultKubeletDir = "/var/lib/kubelet"

// Options configure a Runner.
type Options struct {
	// Config is an administrator's REST config. The runner uses it for what
	// a kubelet does (TokenRequest, pod status, pod deletion, CSINode, node
	// labels); the processes it starts never get it.
	Config *rest.Config
	// Nodes are the simulated nodes the runner plays kubelet for.
	Nodes []string
	// Root holds the nodes' filesystems: hostPath P of node N is Root/N/P.
	// Keep it short: unix socket paths under it are limited to 107 bytes.
	Root string
	// BinDir holds the host binaries. An image's entrypoint is
	// BinDir/<last element of the image repository>; a container command
	// is BinDir/<base name of command[0]>.
	BinDir string
	// ImagePrefix selects the pods to run: those whose every container
	// image starts with it. Other pods are left alone. Empty selects all.
	ImagePrefix string
	// Namespaces restricts the pods run to these namespaces; empty means all.
	Namespaces []string
	// SharedHostPaths are hostPaths used as they are on the host instead of
	// under Root (e.g. /dev for loop devices). Empty means none.
	SharedHostPaths []string
	// KubeletDir is the kubelet's directory on each node; its
	// plugins_registry is watched for plugin sockets. Empty means
	// DefaultKubeletDir.
	KubeletDir string
	// LogDir receives one log file per container, <ns>_<pod>_<container>.log.
	// Empty means Root/_logs.
	LogDir string
	// Logger receives the runner's own log; the zero value discards it.
	Logger logr.Logger
}

func (o *Options) setDefaults() error {
	if o.Config == nil || o.Root == "" || o.BinDir == "" || len(o.Nodes) == 0 {
		return errors.New("hostrun: Config, Nodes, Root and BinDir are required")
	}
	var err error
	if o.Root, err = filepath.Abs(o.Root); err != nil {
		return fmt.Errorf("failed to resolve Root: %w", err)
	}
	if o.BinDir, err = filepath.Abs(o.BinDir); err != nil {
		return fmt.Errorf("failed to resolve BinDir: %w", err)
	}
	if o.KubeletDir == "" {
		o.KubeletDir = DefaultKubeletDir
	}
	if o.LogDir == "" {
		// Node names are DNS names, so "_logs" and "_pods" never clash
		// with a node's root.
		o.LogDir = filepath.Join(o.Root, "_logs")
	}
	return nil
}

// nodeRoot is the directory standing for node's "/".
func (o *Options) nodeRoot(node string) string {
	return filepath.Join(o.Root, node)
}

// registryDir is node's plugins_registry directory on the host.
func (o *Options) registryDir(node string) string {
	return filepath.Join(o.nodeRoot(node), o.KubeletDir, "plugins_registry")
}

// podDir holds a pod's emptyDirs, kubeconfig, token and working directory;
// it lies outside every node root, so no hostPath reaches another pod's token.
func (o *Options) podDir(uid string) string {
	return filepath.Join(o.Root, "_pods", uid)
}
