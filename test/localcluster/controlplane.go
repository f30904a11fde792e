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
	"crypto/tls"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"time"
)

// Ports of the control plane, inside its network namespace.
const (
	apiServerPort         = 6443
	controllerManagerPort = 10257
	schedulerPort         = 10259
	etcdClientURL         = "http://127.0.0.1:2379"
)

// startTimeout bounds each component's start.
const startTimeout = 2 * time.Minute

// startControlPlane runs etcd, kube-apiserver, kube-controller-manager and
// kube-scheduler in the control plane's network namespace.
func (c *Cluster) startControlPlane(ctx context.Context) error {
	if err := c.startEtcd(); err != nil {
		return err
	}
	if err := c.startAPIServer(ctx); err != nil {
		return err
	}
	if err := c.startControllerManager(ctx); err != nil {
		return err
	}
	return c.startScheduler(ctx)
}

// inControlPlane starts a binary of bin/k8s in the control plane's network
// namespace.
func (c *Cluster) inControlPlane(name string, args ...string) (*process, error) {
	argv := append([]string{"nsenter", "--net=" + netnsPath(c.cpNetns), "--", filepath.Join(c.opts.BinDir, "k8s", name)}, args...)
	p, err := startProcess(name, c.logPath(name), nil, argv...)
	if err == nil {
		c.daemons = append(c.daemons, p)
	}
	return p, err
}

func (c *Cluster) startEtcd() error {
	dataDir := filepath.Join(c.Dir, "etcd")
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		return fmt.Errorf("failed to create %s: %w", dataDir, err)
	}
	_, err := c.inControlPlane("etcd",
		"--data-dir="+dataDir,
		"--listen-client-urls="+etcdClientURL, "--advertise-client-urls="+etcdClientURL,
		"--listen-peer-urls=http://127.0.0.1:2380", "--initial-advertise-peer-urls=http://127.0.0.1:2380",
		"--initial-cluster=default=http://127.0.0.1:2380",
		// A throwaway cluster: durability across power loss buys nothing.
		"--unsafe-no-fsync", "--log-level=warn")
	return err
}

func (c *Cluster) startAPIServer(ctx context.Context) error {
	cert, key, err := c.pki.issue(identity{
		name: "kube-apiserver", cn: "kube-apiserver", server: true,
		dns: []string{"localhost", "kubernetes", "kubernetes.default", "kubernetes.default.svc", "kubernetes.default.svc.cluster.local"},
		ips: []net.IP{net.ParseIP("127.0.0.1"), c.cpIP.AsSlice(), c.serviceIP.AsSlice()},
	})
	if err != nil {
		return err
	}
	kubeletCert, kubeletKey, err := c.pki.issue(identity{name: "kube-apiserver-kubelet-client", cn: "kube-apiserver-kubelet-client", orgs: []string{"system:masters"}})
	if err != nil {
		return err
	}
	p, err := c.inControlPlane("kube-apiserver",
		"--etcd-servers="+etcdClientURL,
		"--bind-address=0.0.0.0", "--secure-port="+strconv.Itoa(apiServerPort),
		"--advertise-address="+c.cpIP.String(),
		"--tls-cert-file="+cert, "--tls-private-key-file="+key, "--client-ca-file="+c.pki.CAFile(),
		"--service-account-issuer=https://kubernetes.default.svc.cluster.local",
		"--service-account-key-file="+c.saPub, "--service-account-signing-key-file="+c.saKey,
		"--service-cluster-ip-range="+c.opts.ServiceCIDR,
		"--authorization-mode=Node,RBAC", "--enable-admission-plugins=NodeRestriction",
		"--allow-privileged=true",
		"--kubelet-client-certificate="+kubeletCert, "--kubelet-client-key="+kubeletKey,
		"--kubelet-preferred-address-types=InternalIP,Hostname",
		"--profiling=false", "--v=1")
	if err != nil {
		return err
	}
	return c.waitHealthy(ctx, p, apiServerPort, "/readyz")
}

func (c *Cluster) startControllerManager(ctx context.Context) error {
	kubeconfig, err := c.userKubeconfig("kube-controller-manager", "system:kube-controller-manager")
	if err != nil {
		return err
	}
	args := append(c.componentArgs(kubeconfig, controllerManagerPort),
		"--use-service-account-credentials=true",
		"--service-account-private-key-file="+c.saKey,
		"--root-ca-file="+c.pki.CAFile(),
		"--cluster-signing-cert-file="+c.pki.CAFile(), "--cluster-signing-key-file="+filepath.Join(c.pki.dir, "ca.key"),
		"--service-cluster-ip-range="+c.opts.ServiceCIDR,
		"--allocate-node-cidrs=true", "--cluster-cidr="+c.opts.ClusterCIDR,
		"--node-cidr-mask-size="+strconv.Itoa(c.opts.NodeCIDRMaskSize),
		"--controllers=*")
	p, err := c.inControlPlane("kube-controller-manager", append(args, c.opts.ControllerManagerArgs...)...)
	if err != nil {
		return err
	}
	return c.waitHealthy(ctx, p, controllerManagerPort, "/healthz")
}

func (c *Cluster) startScheduler(ctx context.Context) error {
	kubeconfig, err := c.userKubeconfig("kube-scheduler", "system:kube-scheduler")
	if err != nil {
		return err
	}
	args := c.componentArgs(kubeconfig, schedulerPort)
	p, err := c.inControlPlane("kube-scheduler", append(args, c.opts.SchedulerArgs...)...)
	if err != nil {
		return err
	}
	return c.waitHealthy(ctx, p, schedulerPort, "/healthz")
}

// componentArgs are the flags kube-controller-manager and kube-scheduler
// share: their identity, a secure port on loopback, no leader election.
func (c *Cluster) componentArgs(kubeconfig string, port int) []string {
	return []string{
		"--kubeconfig=" + kubeconfig,
		"--authentication-kubeconfig=" + kubeconfig,
		"--authorization-kubeconfig=" + kubeconfig,
		"--bind-address=127.0.0.1",
		"--secure-port=" + strconv.Itoa(port),
		"--cert-dir=" + filepath.Join(c.Dir, "pki", "serving"),
		"--leader-elect=false",
		"--v=2",
	}
}

// waitHealthy polls a component's health endpoint on the control plane's
// loopback until it answers 200 or the component exits.
func (c *Cluster) waitHealthy(ctx context.Context, p *process, port int, path string) error {
	client := &http.Client{
		Timeout: 2 * time.Second,
		Transport: &http.Transport{
			DialContext: dialIn(c.cpNetns),
			// Only liveness is read, and no credentials are sent.
			TLSClientConfig: &tls.Config{InsecureSkipVerify: true}, //nolint:gosec // see above
		},
	}
	url := "https://127.0.0.1:" + strconv.Itoa(port) + path
	err := poll(ctx, startTimeout, func(ctx context.Context) (bool, error) {
		if err := p.exited(); err != nil {
			return false, err
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return false, fmt.Errorf("failed to build the health request: %w", err)
		}
		resp, err := client.Do(req)
		if err != nil {
			return false, nil // not listening yet
		}
		_ = resp.Body.Close()
		return resp.StatusCode == http.StatusOK, nil
	})
	if err != nil {
		return fmt.Errorf("%s did not become healthy (log: %s): %w", p.name, p.logPath, err)
	}
	return nil
}
