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

package localcluster

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/plinth-dev/plinth/test/reaper"
)

// Cluster is a running local cluster.
type Cluster struct {
	// Dir holds the cluster's state, certificates, kubeconfigs and logs.
	Dir string
	// KubeconfigPath is an administrator's (system:masters) kubeconfig,
	// reaching the API server through a loopback port of this machine.
	KubeconfigPath string
	// Config and Clientset are an administrator's.
	Config    *rest.Config
	Clientset kubernetes.Interface
	// Nodes are the real nodes, in the order of Options.Nodes.
	Nodes []*Node

	opts      Options
	id        string
	cpNetns   string
	cpIP      netip.Addr
	serviceIP netip.Addr
	runc      string
	pki       *pki
	saPub     string
	saKey     string
	proxy     *apiProxy
	daemons   []*process // the control plane's
	state     reaper.State
	stateMu   sync.Mutex
}

// Start brings up the control plane and the nodes and returns once every
// node has registered. Nodes stay NotReady until a pod network (Plinth)
// writes its CNI configuration. On error everything is torn down again.
func Start(ctx context.Context, opts Options) (c *Cluster, err error) {
	if os.Geteuid() != 0 {
		return nil, errors.New("a local cluster with real nodes needs root (namespaces, mounts, cgroups)")
	}
	if err := opts.complete(); err != nil {
		return nil, err
	}
	c = &Cluster{opts: opts, id: newID(), Dir: opts.Dir}
	defer func() {
		if err != nil {
			err = errors.Join(err, c.Stop())
		}
	}()
	steps := []func(context.Context) error{c.prepare, c.startNetwork, c.startControlPlane, c.connect, c.startNodes, c.waitNodesRegistered}
	for _, step := range steps {
		if err := step(ctx); err != nil {
			return c, err
		}
	}
	return c, nil
}

// prepare creates the state directory, the PKI and finds the tools.
func (c *Cluster) prepare(context.Context) error {
	var err error
	if c.runc, err = exec.LookPath("runc"); err != nil {
		return fmt.Errorf("runc is not installed (hack/install-deps.sh installs it): %w", err)
	}
	if err := c.makeDir(); err != nil {
		return err
	}
	if err := c.makeHostDirs(); err != nil {
		return err
	}
	for _, sub := range []string{"logs", "kubeconfigs", "nodes"} {
		if err := os.MkdirAll(filepath.Join(c.Dir, sub), 0o700); err != nil {
			return fmt.Errorf("failed to create %s: %w", sub, err)
		}
	}
	if c.pki, err = newPKI(filepath.Join(c.Dir, "pki")); err != nil {
		return err
	}
	c.saPub, c.saKey, err = c.pki.serviceAccountKey()
	if err != nil {
		return err
	}
	services := netip.MustParsePrefix(c.opts.ServiceCIDR)
	c.serviceIP = services.Masked().Addr().Next()
	return nil
}

// makeDir creates an empty state directory. What an earlier, killed run
// left in it was released by the reaper's sweep.
func (c *Cluster) makeDir() error {
	var err error
	if c.Dir == "" {
		c.Dir, err = os.MkdirTemp("", "plinth-localcluster-")
	} else if c.Dir, err = filepath.Abs(c.Dir); err == nil {
		if _, err = reaper.Get(); err == nil { // sweeps what a killed run left
			err = os.RemoveAll(c.Dir)
		}
		if err == nil {
			err = os.MkdirAll(c.Dir, 0o700)
		}
	}
	if err != nil {
		return fmt.Errorf("failed to prepare the cluster directory: %w", err)
	}
	return c.track(func(s *reaper.State) {
		s.LoopDirs = append(s.LoopDirs, c.Dir)
		if !c.opts.KeepDir {
			s.Dirs = append(s.Dirs, c.Dir)
		}
	})
}

// makeHostDirs creates the machine's directories that the nodes mount
// their own over. Other clusters may use them at the same time, so each
// one it makes gets the reaper's marker, and whichever cluster stops last
// removes the marked ones (Stop of another must not: removing a directory
// unmounts it in every mount namespace).
func (c *Cluster) makeHostDirs() error {
	for _, d := range append(hostDirs, "/run/netns") {
		var made []string
		for p := d; p != "/"; p = filepath.Dir(p) {
			if _, err := os.Stat(p); err != nil {
				made = append(made, p)
			}
		}
		if err := os.MkdirAll(d, 0o755); err != nil { //nolint:gosec // the machine's own directories, as a node has them
			return fmt.Errorf("failed to create %s: %w", d, err)
		}
		for _, p := range made {
			if err := os.WriteFile(filepath.Join(p, reaper.MadeMarker), nil, 0o600); err != nil {
				return fmt.Errorf("failed to mark %s: %w", p, err)
			}
		}
		var marked []string
		for p := d; p != "/"; p = filepath.Dir(p) {
			if _, err := os.Stat(filepath.Join(p, reaper.MadeMarker)); err == nil {
				marked = append(marked, p) // deepest first
			}
		}
		err := c.track(func(s *reaper.State) {
			s.UsedDirs = append(s.UsedDirs, d)
			s.EmptyDirs = append(s.EmptyDirs, marked...)
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// startNetwork creates the control plane's network namespace with the
// underlay bridge, and one namespace per node joined to it by a veth.
func (c *Cluster) startNetwork(ctx context.Context) error {
	prefix, cpIP, nodeIPs := c.opts.addresses()
	c.cpIP = cpIP
	c.cpNetns = "plinth-" + c.id + "-cp"
	if err := c.addNetns(ctx, c.cpNetns); err != nil {
		return err
	}
	bits := "/" + itoa(prefix.Bits())
	if err := runAll(ctx,
		ipIn(c.cpNetns, "link", "set", "lo", "up"),
		ipIn(c.cpNetns, "link", "add", "underlay", "type", "bridge"),
		ipIn(c.cpNetns, "addr", "add", cpIP.String()+bits, "dev", "underlay"),
		ipIn(c.cpNetns, "link", "set", "underlay", "up")); err != nil {
		return err
	}
	for i, spec := range c.opts.Nodes {
		n := &Node{Spec: spec, IP: nodeIPs[i], cluster: c, Netns: "plinth-" + c.id + "-" + spec.Name,
			Dir: filepath.Join(c.Dir, "nodes", spec.Name), cgroupRoot: "plinth-" + c.id + "-" + spec.Name}
		if err := c.addNetns(ctx, n.Netns); err != nil {
			return err
		}
		peer := "to-" + spec.Name
		if err := runAll(ctx,
			ipIn(c.cpNetns, "link", "add", peer, "type", "veth", "peer", "name", "eth0", "netns", n.Netns),
			ipIn(c.cpNetns, "link", "set", peer, "master", "underlay", "up"),
			ipIn(n.Netns, "link", "set", "lo", "up"),
			ipIn(n.Netns, "addr", "add", n.IP.String()+bits, "dev", "eth0"),
			ipIn(n.Netns, "link", "set", "eth0", "up"),
			ipIn(n.Netns, "route", "add", "default", "via", cpIP.String())); err != nil {
			return err
		}
		c.Nodes = append(c.Nodes, n)
	}
	return nil
}

func (c *Cluster) addNetns(ctx context.Context, name string) error {
	if err := c.track(func(s *reaper.State) { s.Netns = append(s.Netns, name) }); err != nil {
		return err
	}
	_, err := run(ctx, "ip", "netns", "add", name)
	return err
}

// connect starts the loopback proxy to the API server and the admin clients.
func (c *Cluster) connect(context.Context) error {
	var err error
	c.proxy, err = startAPIProxy("127.0.0.1:0", c.cpNetns, c.cpIP.String()+":"+itoa(apiServerPort))
	if err != nil {
		return err
	}
	if c.KubeconfigPath, err = c.kubeconfigFor("admin", "https://"+c.proxy.Addr(), "plinth-admin", "system:masters"); err != nil {
		return err
	}
	if c.Config, err = clientcmd.BuildConfigFromFlags("", c.KubeconfigPath); err != nil {
		return fmt.Errorf("failed to load the admin kubeconfig: %w", err)
	}
	c.Config.QPS, c.Config.Burst = 200, 400
	c.Clientset, err = kubernetes.NewForConfig(c.Config)
	if err != nil {
		return fmt.Errorf("failed to create the admin client: %w", err)
	}
	return nil
}

// startNodes starts every node, in parallel.
func (c *Cluster) startNodes(ctx context.Context) error {
	errs := make([]error, len(c.Nodes))
	var wg sync.WaitGroup
	for i, n := range c.Nodes {
		wg.Go(func() { errs[i] = n.start(ctx) })
	}
	wg.Wait()
	return errors.Join(errs...)
}

// waitNodesRegistered waits until every node's kubelet has created its Node.
func (c *Cluster) waitNodesRegistered(ctx context.Context) error {
	return poll(ctx, startTimeout, func(ctx context.Context) (bool, error) {
		for _, n := range c.Nodes {
			if err := n.kubelet.exited(); err != nil {
				return false, err
			}
			if _, err := c.Clientset.CoreV1().Nodes().Get(ctx, n.Name(), metav1.GetOptions{}); err != nil {
				return false, nil //nolint:nilerr // not registered yet
			}
		}
		return true, nil
	})
}

// WaitNodesReady waits until every node reports Ready, which takes a pod
// network.
func (c *Cluster) WaitNodesReady(ctx context.Context, timeout time.Duration) error {
	err := poll(ctx, timeout, func(ctx context.Context) (bool, error) {
		for _, n := range c.Nodes {
			node, err := c.Clientset.CoreV1().Nodes().Get(ctx, n.Name(), metav1.GetOptions{})
			if err != nil || !nodeReady(node) {
				return false, nil //nolint:nilerr // not yet
			}
		}
		return true, nil
	})
	if err != nil {
		return fmt.Errorf("nodes did not become Ready: %w", err)
	}
	return nil
}

func nodeReady(n *corev1.Node) bool {
	for _, c := range n.Status.Conditions {
		if c.Type == corev1.NodeReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

// Node returns the named node, or nil.
func (c *Cluster) Node(name string) *Node {
	for _, n := range c.Nodes {
		if n.Name() == name {
			return n
		}
	}
	return nil
}

// APIServerAddress is the API server's address as pods and nodes reach it.
func (c *Cluster) APIServerAddress() string { return c.cpIP.String() + ":" + itoa(apiServerPort) }

// logPath is the log file of a control-plane component.
func (c *Cluster) logPath(name string) string { return filepath.Join(c.Dir, "logs", name+".log") }

// LogPaths maps every component to its log file.
func (c *Cluster) LogPaths() map[string]string {
	logs := map[string]string{}
	for _, p := range c.daemons {
		logs[p.name] = p.logPath
	}
	for _, n := range c.Nodes {
		for _, p := range []*process{n.init, n.containerd, n.kubelet, n.kubeProxy} {
			if p != nil {
				logs[n.Name()+"/"+p.name] = p.logPath
			}
		}
	}
	return logs
}

// track records in the reaper, before it is created, something Stop (or
// the reaper, should this process die) must remove.
func (c *Cluster) track(fn func(*reaper.State)) error {
	r, err := reaper.Get()
	if err != nil {
		return err
	}
	c.stateMu.Lock()
	fn(&c.state)
	c.stateMu.Unlock()
	return r.Track(fn)
}

// Stop tears everything down: the nodes with all their processes, pods and
// mounts, the control plane, loop devices, namespaces and cgroups, and Dir
// if Start created it. It is safe to call more than once.
func (c *Cluster) Stop() error {
	var errs []error
	for _, n := range c.Nodes {
		errs = append(errs, n.stop())
	}
	for i := len(c.daemons) - 1; i >= 0; i-- { // kube-apiserver before etcd
		errs = append(errs, c.daemons[i].stop(syscall.SIGTERM, 15*time.Second))
	}
	c.daemons = nil
	if c.proxy != nil {
		errs = append(errs, c.proxy.Close())
	}
	c.stateMu.Lock()
	state := c.state
	c.state = reaper.State{}
	c.stateMu.Unlock()
	// Released first, so that the cleaning sees which host directories
	// other clusters still use.
	if r, err := reaper.Get(); err == nil {
		errs = append(errs, r.Release(func(s *reaper.State) { forget(s, state) }))
	}
	errs = append(errs, reaper.Clean(state))
	return errors.Join(errs...)
}

// RemoveDir removes Dir after Stop, for callers that kept it only in case
// they needed the logs.
func (c *Cluster) RemoveDir() error {
	if err := os.RemoveAll(c.Dir); err != nil {
		return fmt.Errorf("failed to remove %s: %w", c.Dir, err)
	}
	return nil
}

// forget removes from s what other holds.
func forget(s *reaper.State, other reaper.State) {
	s.Netns = reaper.Remove(s.Netns, other.Netns...)
	s.LoopFiles = reaper.Remove(s.LoopFiles, other.LoopFiles...)
	s.LoopDirs = reaper.Remove(s.LoopDirs, other.LoopDirs...)
	s.Mounts = reaper.Remove(s.Mounts, other.Mounts...)
	s.Cgroups = reaper.Remove(s.Cgroups, other.Cgroups...)
	s.Dirs = reaper.Remove(s.Dirs, other.Dirs...)
	s.EmptyDirs = reaper.Remove(s.EmptyDirs, other.EmptyDirs...)
	s.UsedDirs = reaper.Remove(s.UsedDirs, other.UsedDirs...)
}
