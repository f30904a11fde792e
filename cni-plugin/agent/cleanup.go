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

package agent

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"

	"sigs.k8s.io/controller-runtime/pkg/log"

	"github.com/plinth-dev/plinth/cni-plugin/ipam"
)

// Cleanup removes what the agent added to the node: the state file (the
// plugin's STATUS turns not ready first), the conflist, the plugin binary,
// the loopback plugin if Plinth installed it, the agent's routes, the VXLAN
// device and the nftables table. The IPAM store goes too once no attachment
// holds an address in it; while pods still run it stays, so that a later
// agent never hands their addresses out again. Cleanup can be repeated.
func (a *Agent) Cleanup(ctx context.Context) error {
	return a.cleanup(ctx, false)
}

// Uninstall is Cleanup for Plinth's removal from the node: it also removes
// the IPAM store when attachments remain in it. Pods still running keep
// their addresses and routes in the kernel until the runtime deletes their
// sandboxes, but nothing records them any more: a pod network installed
// afterwards may hand the same addresses out again.
func (a *Agent) Uninstall(ctx context.Context) error {
	return a.cleanup(ctx, true)
}

func (a *Agent) cleanup(ctx context.Context, uninstall bool) error {
	log.FromContext(ctx).Info("removing pod network configuration", "node", a.cfg.NodeName, "uninstall", uninstall)
	return errors.Join(
		removeFile(a.cfg.StateFile),
		removeFile(a.ConflistPath()),
		removeFile(filepath.Join(a.cfg.CNIBinDir, pluginBinaryName)),
		RemoveLoopback(a.cfg.CNIBinDir),
		deleteOwnRoutes(nil),
		a.deleteVXLAN(),
		a.deleteTable(ctx),
		a.removeStore(ctx, uninstall),
	)
}

// removeStore removes the IPAM store, unless it still holds attachments
// and force is false, and then the data directory if that left it empty.
func (a *Agent) removeStore(ctx context.Context, force bool) error {
	dir := filepath.Join(a.cfg.DataDir, a.cfg.NetworkName)
	if _, err := os.Stat(dir); errors.Is(err, os.ErrNotExist) {
		return removeEmptyDir(a.cfg.DataDir)
	}
	if !force {
		held, err := attachments(a.cfg.DataDir, a.cfg.NetworkName)
		if err != nil {
			return err
		}
		if held > 0 {
			log.FromContext(ctx).Info("keeping the IPAM store: pods still hold addresses", "store", dir, "attachments", held)
			return nil
		}
	}
	if err := os.RemoveAll(dir); err != nil {
		return fmt.Errorf("failed to remove the IPAM store: %w", err)
	}
	return removeEmptyDir(a.cfg.DataDir)
}

func attachments(dataDir, network string) (int, error) {
	store, err := ipam.Open(dataDir, network)
	if err != nil {
		return 0, err
	}
	allocs, err := store.List()
	if err != nil {
		return 0, fmt.Errorf("failed to read the IPAM store: %w", err)
	}
	return len(allocs), nil
}

// removeEmptyDir removes dir if it is empty; a directory that holds
// something else, or is a mount point (the node pod mounts the data
// directory), stays.
func removeEmptyDir(dir string) error {
	err := os.Remove(dir)
	if err == nil || errors.Is(err, os.ErrNotExist) || errors.Is(err, syscall.ENOTEMPTY) ||
		errors.Is(err, syscall.EEXIST) || errors.Is(err, syscall.EBUSY) {
		return nil
	}
	return fmt.Errorf("failed to remove %s: %w", dir, err)
}
