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
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"

	"github.com/plinth-dev/plinth/test/reaper"
)

// ControlPlane is a running local control plane.
type ControlPlane struct {
	// Config is an administrator's (system:masters) REST config.
	Config *rest.Config
	// Client is an administrator's controller-runtime client.
	Client client.Client
	// Clientset is an administrator's typed client-go clientset.
	Clientset kubernetes.Interface
	// KubeconfigPath is an administrator's kubeconfig file.
	KubeconfigPath string
	// Dir holds the logs, kubeconfigs and certificates.
	Dir string

	opts      Options
	ownsDir   bool // Dir was created by Start, so Stop removes it
	env       *envtest.Environment
	processes []*process
	logs      map[string]string
	logFiles  []*os.File

	heartbeatMu  sync.Mutex
	nodes        []NodeSpec
	simulatedIPs int
	stopBeat     context.CancelFunc
	beatDone     chan struct{}
}

// Start brings up etcd, kube-apiserver, kube-controller-manager and
// kube-scheduler, installs the given CRDs, registers the given nodes, and
// returns once every component is healthy. On error everything already
// started is stopped again.
func Start(ctx context.Context, opts Options) (cp *ControlPlane, err error) {
	opts.setDefaults()
	cp = &ControlPlane{opts: opts, logs: map[string]string{}}
	defer func() {
		if err != nil {
			cp.opts.KeepDir = true // the logs explain the failure
			err = errors.Join(err, cp.Stop())
		}
	}()
	if err := cp.prepareDir(); err != nil {
		return cp, err
	}
	if err := cp.startAPIServer(); err != nil {
		return cp, err
	}
	if err := cp.startControllerManager(ctx); err != nil {
		return cp, err
	}
	if err := cp.startScheduler(ctx); err != nil {
		return cp, err
	}
	cp.startHeartbeat()
	for _, node := range opts.Nodes {
		if err := cp.AddNode(ctx, node); err != nil {
			return cp, err
		}
	}
	return cp, nil
}

func (cp *ControlPlane) prepareDir() error {
	binDir, err := FindBinDir(cp.opts.BinDir)
	if err != nil {
		return err
	}
	cp.opts.BinDir = binDir
	cp.Dir = cp.opts.Dir
	if cp.Dir == "" {
		if cp.Dir, err = os.MkdirTemp("", "plinth-controlplane-"); err != nil {
			return fmt.Errorf("failed to create control-plane directory: %w", err)
		}
		cp.ownsDir = true
		if r, err := reaper.Get(); err == nil { // removed even if the test binary is killed
			_ = r.Track(func(s *reaper.State) { s.Dirs = append(s.Dirs, cp.Dir) })
		}
	}
	for _, sub := range []string{"logs", "kubeconfigs", "certs/kube-apiserver", "etcd"} {
		if err := os.MkdirAll(filepath.Join(cp.Dir, sub), 0o700); err != nil {
			return fmt.Errorf("failed to create %s directory: %w", sub, err)
		}
	}
	return nil
}

// Stop stops every component in reverse start order and removes Dir when
// Start created it, unless it is to be kept. It is safe to call more than once.
func (cp *ControlPlane) Stop() error {
	cp.stopHeartbeat()
	var errs []error
	for i := len(cp.processes) - 1; i >= 0; i-- {
		errs = append(errs, cp.processes[i].stop(15*time.Second))
	}
	cp.processes = nil
	if cp.env != nil {
		if err := cp.env.Stop(); err != nil {
			errs = append(errs, fmt.Errorf("failed to stop etcd and kube-apiserver: %w", err))
		}
		cp.env = nil
	}
	for _, f := range cp.logFiles {
		_ = f.Close()
	}
	cp.logFiles = nil
	if cp.ownsDir && !cp.opts.KeepDir {
		errs = append(errs, os.RemoveAll(cp.Dir))
	}
	return errors.Join(errs...)
}

// LogPaths maps each component's name to the file holding its output.
func (cp *ControlPlane) LogPaths() map[string]string {
	paths := make(map[string]string, len(cp.logs))
	for name, path := range cp.logs {
		paths[name] = path
	}
	return paths
}

// AddLog names the log file of a component that the caller runs beside the
// control plane, so that a failed test reports it with the others.
func (cp *ControlPlane) AddLog(name, path string) {
	cp.logs[name] = path
}

// KeepDir makes Stop leave Dir (logs, kubeconfigs) in place.
func (cp *ControlPlane) KeepDir() {
	cp.opts.KeepDir = true
}

// Options returns the options the control plane runs with, defaults filled in.
func (cp *ControlPlane) Options() Options {
	return cp.opts
}
