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
	"net"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/plinth-dev/plinth/test/reaper"
)

// PauseImage is the sandbox image the nodes' containerd is pinned to.
const PauseImage = "registry.k8s.io/pause:3.10.1"

// hostDirs are the machine's directories each node replaces with its own.
var hostDirs = []string{
	"/var/lib/kubelet", "/var/lib/containerd", "/var/lib/cni", "/run/containerd",
	"/etc/cni/net.d", "/opt/cni/bin", "/var/log/pods", "/var/log/containers",
	"/var/lib/plinth", "/run/plinth",
}

// kernelDefaults are the values the kubelet insists on for these sysctls
// and would write, machine-wide, if it read anything else.
var kernelDefaults = map[string]string{
	"/proc/sys/vm/overcommit_memory":      "1",
	"/proc/sys/kernel/panic":              "10",
	"/proc/sys/kernel/panic_on_oops":      "1",
	"/proc/sys/kernel/keys/root_maxkeys":  "1000000",
	"/proc/sys/kernel/keys/root_maxbytes": "25000000",
}

// Node is one real node: containerd, kubelet and kube-proxy in network,
// mount, PID and UTS namespaces of their own.
type Node struct {
	Spec NodeSpec
	// IP is the node's InternalIP on the underlay.
	IP netip.Addr
	// Dir holds the node's state; its fs/ subdirectory backs the node's
	// hostDirs.
	Dir string
	// Netns is the node's network namespace (/run/netns/<Netns>).
	Netns string

	cluster    *Cluster
	cgroupRoot string
	init       *process
	initPID    int
	containerd *process
	kubelet    *process
	kubeProxy  *process
}

// Name is the node's name.
func (n *Node) Name() string { return n.Spec.Name }

// LogDir holds the node's daemons' logs.
func (n *Node) LogDir() string { return filepath.Join(n.Dir, "logs") }

// HostPath is where a path of the node's filesystem lives on this machine,
// for the directories the node has its own copy of.
func (n *Node) HostPath(path string) string {
	for _, d := range hostDirs {
		if path == d || strings.HasPrefix(path, d+"/") {
			return filepath.Join(n.Dir, "fs", path)
		}
	}
	return path
}

func (n *Node) socket() string { return n.HostPath("/run/containerd/containerd.sock") }

// start brings the node up to a running kubelet.
func (n *Node) start(ctx context.Context) error {
	steps := []func(context.Context) error{n.prepare, n.startInit, n.startContainerd, n.importImages, n.startKubelet, n.startKubeProxy}
	for _, step := range steps {
		if err := step(ctx); err != nil {
			return fmt.Errorf("node %s: %w", n.Name(), err)
		}
	}
	return nil
}

// prepare writes the node's files and creates its cgroups.
func (n *Node) prepare(ctx context.Context) error {
	for _, d := range append(hostDirs, "/run/netns") {
		if err := os.MkdirAll(filepath.Join(n.Dir, "fs", d), 0o755); err != nil { //nolint:gosec // a node's /var/lib, /run, /etc
			return fmt.Errorf("failed to create the node's %s: %w", d, err)
		}
	}
	if err := os.MkdirAll(n.LogDir(), 0o750); err != nil {
		return fmt.Errorf("failed to create %s: %w", n.LogDir(), err)
	}
	if err := n.writeConfigs(); err != nil {
		return err
	}
	if n.Spec.Pool == PoolXFS {
		image := filepath.Join(n.Dir, "pool.img")
		if err := n.cluster.track(func(s *reaper.State) { s.LoopFiles = append(s.LoopFiles, image) }); err != nil {
			return err
		}
		if err := runAll(ctx, []string{"truncate", "-s", itoa64(n.Spec.PoolSize), image},
			[]string{"mkfs.xfs", "-q", "-f", "-m", "reflink=1", image}); err != nil {
			return err
		}
	}
	return n.createCgroups()
}

// startInit starts the node's namespaces and waits until its filesystem
// view is ready.
func (n *Node) startInit(ctx context.Context) error {
	script := filepath.Join(n.Dir, "init.sh")
	ready := filepath.Join(n.Dir, "ready")
	if err := n.cluster.renderFile("node-init.sh", script, n.initData(ready)); err != nil {
		return err
	}
	// unshare's --kill-child makes the node's PID 1 die with unshare, and
	// with it every process of the node; unshare itself dies with the
	// harness (its parent-death signal).
	p, err := startProcess("init", filepath.Join(n.LogDir(), "init.log"), nil,
		"nsenter", "--net="+netnsPath(n.Netns), "--",
		"unshare", "--pid", "--fork", "--kill-child", "--mount", "--propagation", "slave", "--mount-proc", "--uts", "--",
		"bash", script)
	if err != nil {
		return err
	}
	n.init = p
	err = poll(ctx, startTimeout, func(context.Context) (bool, error) {
		if err := p.exited(); err != nil {
			return false, err
		}
		_, err := os.Stat(ready)
		return err == nil, nil
	})
	if err != nil {
		return fmt.Errorf("the node's init did not get ready: %w", err)
	}
	kids := reaper.Children(p.cmd.Process.Pid)
	if len(kids) != 1 {
		return fmt.Errorf("the node's init has %d processes, want 1", len(kids))
	}
	n.initPID = kids[0]
	return nil
}

// inNode starts a daemon inside the node's namespaces.
func (n *Node) inNode(name string, env []string, argv ...string) (*process, error) {
	return startProcess(name, filepath.Join(n.LogDir(), name+".log"), env, n.enter(argv)...)
}

// Run runs a command inside the node's namespaces and returns its output.
func (n *Node) Run(ctx context.Context, argv ...string) (string, error) {
	return run(ctx, n.enter(argv)...)
}

// enter prefixes argv with what runs it in the node's namespaces.
func (n *Node) enter(argv []string) []string {
	return append([]string{"nsenter", "--target=" + itoa(n.initPID), "--net", "--mount", "--pid", "--uts", "--"}, argv...)
}

func (n *Node) startContainerd(ctx context.Context) error {
	bin := filepath.Join(n.cluster.opts.BinDir, "node")
	p, err := n.inNode("containerd", []string{"PATH=" + bin + ":" + os.Getenv("PATH")},
		filepath.Join(bin, "containerd"), "--config", filepath.Join(n.Dir, "config", "containerd.toml"))
	if err != nil {
		return err
	}
	n.containerd = p
	err = poll(ctx, startTimeout, func(context.Context) (bool, error) {
		if err := p.exited(); err != nil {
			return false, err
		}
		_, err := os.Stat(n.socket())
		return err == nil, nil
	})
	if err != nil {
		return fmt.Errorf("containerd did not start (log: %s): %w", p.logPath, err)
	}
	return nil
}

// importImages loads the cluster's images into the node's containerd, as
// a registry pull would.
func (n *Node) importImages(ctx context.Context) error {
	ctr := filepath.Join(n.cluster.opts.BinDir, "node", "ctr")
	for _, image := range n.cluster.opts.Images {
		if _, err := run(ctx, ctr, "--address", n.socket(), "--namespace", "k8s.io",
			"images", "import", "--platform", "linux/amd64", image); err != nil {
			return fmt.Errorf("failed to import %s: %w", image, err)
		}
	}
	return nil
}

func (n *Node) startKubelet(ctx context.Context) error {
	labels := []string{}
	if n.Spec.Zone != "" {
		labels = append(labels, "topology.kubernetes.io/zone="+n.Spec.Zone)
	}
	if n.Spec.Region != "" {
		labels = append(labels, "topology.kubernetes.io/region="+n.Spec.Region)
	}
	cfg := filepath.Join(n.Dir, "config")
	p, err := n.inNode("kubelet", nil, filepath.Join(n.cluster.opts.BinDir, "k8s", "kubelet"),
		"--config="+filepath.Join(cfg, "kubelet.yaml"),
		"--kubeconfig="+filepath.Join(cfg, "kubelet.kubeconfig"),
		"--hostname-override="+n.Name(), "--node-ip="+n.IP.String(),
		"--node-labels="+strings.Join(labels, ","), "--v=2")
	if err != nil {
		return err
	}
	n.kubelet = p
	return n.waitKubeletHealthy(ctx)
}

// waitKubeletHealthy polls the kubelet's health endpoint on the node's
// loopback until it answers (its API port opens at the same time).
func (n *Node) waitKubeletHealthy(ctx context.Context) error {
	client := &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{DialContext: dialIn(n.Netns)}}
	err := poll(ctx, startTimeout, func(ctx context.Context) (bool, error) {
		if err := n.kubelet.exited(); err != nil {
			return false, err
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://127.0.0.1:10248/healthz", nil)
		if err != nil {
			return false, fmt.Errorf("failed to build the health request: %w", err)
		}
		resp, err := client.Do(req)
		if err != nil {
			return false, nil // not listening yet
		}
		_ = resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return false, nil
		}
		// The API server reaches the kubelet here for exec and logs.
		conn, err := dialIn(n.Netns)(ctx, "tcp", net.JoinHostPort(n.IP.String(), "10250"))
		if err != nil {
			return false, nil //nolint:nilerr // not listening yet
		}
		_ = conn.Close()
		return true, nil
	})
	if err != nil {
		return fmt.Errorf("the kubelet did not become healthy (log: %s): %w", n.kubelet.logPath, err)
	}
	return nil
}

func (n *Node) startKubeProxy(context.Context) error {
	p, err := n.inNode("kube-proxy", nil, filepath.Join(n.cluster.opts.BinDir, "k8s", "kube-proxy"),
		"--config="+filepath.Join(n.Dir, "config", "kube-proxy.yaml"), "--v=2")
	if err != nil {
		return err
	}
	n.kubeProxy = p
	return p.exited()
}

// RestartKubelet stops the kubelet (SIGTERM) and starts it again.
func (n *Node) RestartKubelet(ctx context.Context) error {
	if err := n.kubelet.stop(syscall.SIGTERM, 30*time.Second); err != nil {
		return err
	}
	return n.startKubelet(ctx)
}

// RestartContainerd stops containerd (SIGTERM; the containers keep
// running under their shims) and starts it again.
func (n *Node) RestartContainerd(ctx context.Context) error {
	if err := n.containerd.stop(syscall.SIGTERM, 30*time.Second); err != nil {
		return err
	}
	return n.startContainerd(ctx)
}

// stop kills every process of the node: killing unshare kills the node's
// PID 1, and with it the whole PID namespace.
func (n *Node) stop() error {
	var errs []error
	if n.init != nil {
		errs = append(errs, n.init.stop(syscall.SIGKILL, 10*time.Second))
		if n.initPID != 0 {
			errs = append(errs, waitGone([]int{n.initPID}, 30*time.Second))
		}
	}
	return errors.Join(errs...)
}
