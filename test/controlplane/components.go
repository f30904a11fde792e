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

package controlplane

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"k8s.io/client-go/kubernetes"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"

	"github.com/plinth-dev/plinth/test/reaper"
)

// The identities the components authenticate as. Kubernetes' bootstrap RBAC
// policy grants each exactly what it needs, as in a kubeadm cluster.
const (
	controllerManagerUser = "system:kube-controller-manager"
	schedulerUser         = "system:kube-scheduler"
	adminUser             = "plinth-admin"
)

// startAPIServer starts etcd and kube-apiserver through envtest, configured
// like a real cluster: Node and RBAC authorization, the ServiceAccount
// admission plugin on, and the same service range kube-controller-manager
// uses.
func (cp *ControlPlane) startAPIServer() error {
	etcdLog, err := cp.openLog("etcd")
	if err != nil {
		return err
	}
	apiLog, err := cp.openLog("kube-apiserver")
	if err != nil {
		return err
	}
	env := &envtest.Environment{
		BinaryAssetsDirectory:    cp.opts.BinDir,
		CRDDirectoryPaths:        cp.opts.CRDDirectoryPaths,
		ErrorIfCRDPathMissing:    true,
		ControlPlaneStartTimeout: cp.opts.StartTimeout,
		ControlPlaneStopTimeout:  30 * time.Second,
	}
	// State lives under Dir, so removing Dir removes everything, even after
	// a crash of the process that started the control plane.
	env.ControlPlane.Etcd = &envtest.Etcd{Out: etcdLog, Err: etcdLog, DataDir: filepath.Join(cp.Dir, "etcd")}
	api := env.ControlPlane.GetAPIServer()
	api.Out, api.Err = apiLog, apiLog
	api.CertDir = filepath.Join(cp.Dir, "certs", "kube-apiserver")
	api.Configure().
		Set("authorization-mode", "Node,RBAC").
		Disable("disable-admission-plugins"). // envtest turns ServiceAccount admission off; a real cluster has it
		Set("service-cluster-ip-range", cp.opts.ServiceCIDR).
		Set("v", "1")
	_, err = env.Start()
	cp.env = env // Stop must reach whatever did start
	trackEnvtestProcesses()
	if err != nil {
		return fmt.Errorf("failed to start etcd and kube-apiserver: %w", err)
	}
	return cp.connectAdmin()
}

// trackEnvtestProcesses hands envtest's etcd and kube-apiserver, which it
// starts without a parent-death signal, to the reaper: a test binary killed
// mid-run must not leave them running.
func trackEnvtestProcesses() {
	r, err := reaper.Get()
	if err != nil {
		return
	}
	for _, pid := range reaper.Children(os.Getpid()) {
		if name := reaper.Command(pid); name == "etcd" || name == "kube-apiserver" {
			_ = r.TrackProcess(pid)
		}
	}
}

// connectAdmin creates the administrator identity, its kubeconfig and clients.
func (cp *ControlPlane) connectAdmin() error {
	admin, err := cp.env.AddUser(envtest.User{Name: adminUser, Groups: []string{"system:masters"}}, nil)
	if err != nil {
		return fmt.Errorf("failed to create the admin user: %w", err)
	}
	cp.Config = admin.Config()
	cp.Config.QPS, cp.Config.Burst = 200, 400
	if cp.KubeconfigPath, err = cp.writeKubeconfig("admin", admin); err != nil {
		return err
	}
	if cp.Client, err = client.New(cp.Config, client.Options{Scheme: cp.opts.Scheme}); err != nil {
		return fmt.Errorf("failed to create admin client: %w", err)
	}
	if cp.Clientset, err = kubernetes.NewForConfig(cp.Config); err != nil {
		return fmt.Errorf("failed to create admin clientset: %w", err)
	}
	return nil
}

// startControllerManager runs kube-controller-manager with its own identity,
// per-controller service-account credentials, node CIDR allocation, and the
// service-account signing key and CA of the API server, and the client
// limits of Options.ControllerManagerAPI.
func (cp *ControlPlane) startControllerManager(ctx context.Context) error {
	kubeconfig, err := cp.userKubeconfig("kube-controller-manager", controllerManagerUser)
	if err != nil {
		return err
	}
	caFile, err := cp.writeCA()
	if err != nil {
		return err
	}
	args := append(cp.opts.ControllerManagerAPI.flags(),
		"--use-service-account-credentials=true",
		"--service-account-private-key-file="+filepath.Join(cp.env.ControlPlane.APIServer.CertDir, "sa-signer.key"),
		"--root-ca-file="+caFile,
		"--service-cluster-ip-range="+cp.opts.ServiceCIDR,
		"--allocate-node-cidrs="+strconv.FormatBool(*cp.opts.AllocateNodeCIDRs),
		"--cluster-cidr="+cp.opts.ClusterCIDR,
		"--node-cidr-mask-size="+strconv.Itoa(cp.opts.NodeCIDRMaskSize),
		"--controllers=*",
		"--node-monitor-period=2s",
	)
	return cp.startComponent(ctx, "kube-controller-manager", kubeconfig, args)
}

// startScheduler runs kube-scheduler with its own identity, the default
// profile (VolumeBinding, NodeAffinity, capacity-aware scheduling) and the
// client limits of Options.SchedulerAPI.
func (cp *ControlPlane) startScheduler(ctx context.Context) error {
	kubeconfig, err := cp.userKubeconfig("kube-scheduler", schedulerUser)
	if err != nil {
		return err
	}
	return cp.startComponent(ctx, "kube-scheduler", kubeconfig, cp.opts.SchedulerAPI.flags())
}

// startComponent runs a component with the flags every component shares
// (kubeconfigs, a private secure port for /healthz, no leader election) and
// waits until it is healthy.
func (cp *ControlPlane) startComponent(ctx context.Context, name, kubeconfig string, extra []string) error {
	port, err := freePort()
	if err != nil {
		return err
	}
	certDir := filepath.Join(cp.Dir, "certs", name)
	args := append([]string{
		"--kubeconfig=" + kubeconfig,
		"--authentication-kubeconfig=" + kubeconfig,
		"--authorization-kubeconfig=" + kubeconfig,
		"--bind-address=127.0.0.1",
		"--secure-port=" + strconv.Itoa(port),
		"--cert-dir=" + certDir,
		"--leader-elect=false",
		"--v=2",
	}, extra...)
	logPath := filepath.Join(cp.Dir, "logs", name+".log")
	p, err := startProcess(name, filepath.Join(cp.opts.BinDir, name), logPath, args, nil)
	if err != nil {
		return err
	}
	cp.processes = append(cp.processes, p)
	cp.logs[name] = logPath
	return p.waitHealthy(ctx, port, cp.opts.StartTimeout)
}

// userKubeconfig creates a client-certificate identity and writes its kubeconfig.
func (cp *ControlPlane) userKubeconfig(file, user string) (string, error) {
	u, err := cp.env.AddUser(envtest.User{Name: user}, nil)
	if err != nil {
		return "", fmt.Errorf("failed to create user %s: %w", user, err)
	}
	return cp.writeKubeconfig(file, u)
}

func (cp *ControlPlane) writeKubeconfig(file string, u *envtest.AuthenticatedUser) (string, error) {
	data, err := u.KubeConfig()
	if err != nil {
		return "", fmt.Errorf("failed to render kubeconfig %s: %w", file, err)
	}
	path := filepath.Join(cp.Dir, "kubeconfigs", file+".kubeconfig")
	if err := os.WriteFile(path, data, 0o600); err != nil {
		return "", fmt.Errorf("failed to write kubeconfig %s: %w", file, err)
	}
	return path, nil
}

// writeCA writes the API server's serving CA, which kube-controller-manager
// publishes to every namespace as kube-root-ca.crt.
func (cp *ControlPlane) writeCA() (string, error) {
	path := filepath.Join(cp.Dir, "certs", "ca.crt")
	if err := os.WriteFile(path, cp.env.ControlPlane.APIServer.CA, 0o600); err != nil {
		return "", fmt.Errorf("failed to write the API server CA: %w", err)
	}
	return path, nil
}

// openLog opens the log file of a component started by envtest.
func (cp *ControlPlane) openLog(name string) (*os.File, error) {
	path := filepath.Join(cp.Dir, "logs", name+".log")
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return nil, fmt.Errorf("failed to open %s log: %w", name, err)
	}
	cp.logs[name] = path
	cp.logFiles = append(cp.logFiles, f)
	return f, nil
}
