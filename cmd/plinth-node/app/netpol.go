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
	"fmt"
	"os"

	ctrl "sigs.k8s.io/controller-runtime"

	"github.com/plinth-dev/plinth/cni-plugin/agent"
	"github.com/plinth-dev/plinth/cni-plugin/netpol"
)

// setupNetworkPolicy registers the enforcement of NetworkPolicies on the
// node's pods, which starts once the agent has written its state file (the
// node's pod network is set up). The nftables table is opened on the first
// reconcile, so a node without nft retries with backoff instead of
// stopping storage.
func setupNetworkPolicy(mgr ctrl.Manager, a *agent.Agent, nodeName string) error {
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
