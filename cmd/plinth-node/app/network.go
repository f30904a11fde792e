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
	"fmt"

	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/log"

	"github.com/plinth-dev/plinth/cni-plugin/agent"
)

// setupNetwork registers the network agent, its readiness check "network"
// and the sweeper of IPAM reservations. Only invalid flags fail here: the
// cluster's settings (ClusterNetwork "default", kubeadm's podSubnet) are
// read by the agent's reconciler, and whatever goes wrong there or in the
// kernel is retried with backoff and reported by the readiness check and
// Events on the Node, so the network never stops the CSI driver.
func setupNetwork(ctx context.Context, mgr ctrl.Manager, base agent.Config, enforcePolicy bool) error {
	a, err := agent.New(base)
	if err != nil {
		return fmt.Errorf("invalid network agent flags: %w", err)
	}
	r := &agent.Reconciler{
		Client: mgr.GetClient(), Agent: a,
		Resolve:  agent.ClusterSettings(mgr.GetAPIReader()),
		Recorder: mgr.GetEventRecorder("plinth-network-agent"),
	}
	if err := r.SetupWithManager(mgr); err != nil {
		return fmt.Errorf("failed to set up the network agent: %w", err)
	}
	if err := mgr.AddReadyzCheck("network", r.ReadyzCheck); err != nil {
		return fmt.Errorf("failed to add the network readiness check: %w", err)
	}
	if err := a.NewSweeper().SetupWithManager(mgr); err != nil {
		return fmt.Errorf("failed to set up the IPAM sweeper: %w", err)
	}
	if err := setupNetworkPolicy(mgr, a, base.NodeName, enforcePolicy); err != nil {
		return err
	}
	log.FromContext(ctx).V(1).Info("network agent registered", "node", base.NodeName)
	return nil
}
