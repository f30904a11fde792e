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

package agent_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/containernetworking/plugins/pkg/ns"

	"github.com/plinth-dev/plinth/cni-plugin/agent"
	"github.com/plinth-dev/plinth/cni-plugin/ipam"
	"github.com/plinth-dev/plinth/test/prereq"
)

// Cleanup keeps the IPAM store while pods hold addresses in it, so that a
// reinstall cannot hand them out twice; Uninstall removes it regardless.
func TestCleanupKeepsTheStoreOfRunningPodsUninstallRemovesIt(t *testing.T) {
	prereq.Root(t)
	prereq.Commands(t, "ip", "nft")
	c := sharedSubnet(t)
	c.nodes = c.nodes[:1]
	n := c.nodes[0]
	c.startAgents(t, agent.ModeAuto)
	n.addPods(t, 1)
	cfg := n.config("")
	run := func(step func(context.Context) error) {
		t.Helper()
		if err := n.netns.Do(func(ns.NetNS) error { return step(context.Background()) }); err != nil {
			t.Fatal(err)
		}
	}

	run(n.agent.Cleanup)
	store, err := ipam.Open(cfg.DataDir, agent.DefaultNetworkName)
	if err != nil {
		t.Fatal(err)
	}
	if allocs, err := store.List(); err != nil || len(allocs) != 1 {
		t.Errorf("after Cleanup the store holds %v (%v), want the running pod's reservation", allocs, err)
	}
	if _, err := os.Stat(filepath.Join(cfg.CNIConfDir, "10-plinth.conflist")); !os.IsNotExist(err) {
		t.Errorf("conflist survived Cleanup: %v", err)
	}

	run(n.agent.Uninstall)
	run(n.agent.Uninstall) // repeatable
	if _, err := os.Stat(cfg.DataDir); !os.IsNotExist(err) {
		t.Errorf("data directory survived Uninstall: %v", err)
	}
}
