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

package app

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"time"

	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/manager"

	"github.com/plinth-dev/plinth/cni-plugin/agent"
	"github.com/plinth-dev/plinth/cni-plugin/netpol"
)

// setupNetworkPolicy registers the enforcement of NetworkPolicies on the
// node's pods, which starts once the agent has written its state file (the
// node's pod network is set up). The nftables table is opened on the first
// reconcile, so a node without nft retries with backoff instead of
// stopping storage. With enforcement off, the node removes the rules an
// earlier run programmed instead, and leaves NetworkPolicies to another
// engine (or to none).
func setupNetworkPolicy(mgr ctrl.Manager, a *agent.Agent, nodeName string, enforce bool) error {
	if !enforce {
		open := func() (*netpol.Engine, error) { return netpol.Open(netpol.DefaultTable, netpol.DefaultVethPrefix) }
		if err := mgr.Add(manager.RunnableFunc(func(ctx context.Context) error {
			return removePolicyRules(ctx, open, policyCleanupStart, policyCleanupMax)
		})); err != nil {
			return fmt.Errorf("failed to add the removal of network policy rules: %w", err)
		}
		return nil
	}
	ready := func() bool {
		_, err := os.Stat(a.StateFile())
		return err == nil
	}
	c := &netpol.Controller{NodeName: nodeName, Ready: ready, Recorder: mgr.GetEventRecorder("plinth-network-policy")}
	if err := c.SetupWithManager(mgr); err != nil {
		return fmt.Errorf("failed to set up network policy: %w", err)
	}
	return nil
}

// The attempts to remove the rules of an earlier run start a second apart
// and back off to a minute, for as long as the node runs.
const (
	policyCleanupStart = time.Second
	policyCleanupMax   = time.Minute
)

// removePolicyRules deletes the policy engine's objects from the node's
// table, retrying from start to max apart until it succeeds or ctx ends;
// it never fails the node. A node without nft has none to delete.
func removePolicyRules(ctx context.Context, open func() (*netpol.Engine, error), start, maxDelay time.Duration) error {
	logger := log.FromContext(ctx).WithName("network-policy")
	for delay := start; ; delay = min(2*delay, maxDelay) {
		err := removePolicyRulesOnce(ctx, open)
		if err == nil {
			logger.Info("network policy enforcement is off; the node's policy rules are removed")
			return nil
		}
		logger.Error(err, "failed to remove the network policy rules; retrying", "after", delay)
		select {
		case <-ctx.Done():
			return nil // the next start tries again
		case <-time.After(delay):
		}
	}
}

func removePolicyRulesOnce(ctx context.Context, open func() (*netpol.Engine, error)) error {
	e, err := open()
	if errors.Is(err, exec.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	return e.Delete(ctx)
}
