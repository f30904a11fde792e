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
	"fmt"
	"testing"

	"github.com/containernetworking/cni/libcni"
	"github.com/containernetworking/cni/pkg/types"
	current "github.com/containernetworking/cni/pkg/types/100"
	"github.com/containernetworking/plugins/pkg/ns"

	"github.com/plinth-dev/plinth/cni-plugin/agent"
	"github.com/plinth-dev/plinth/test/netnstest"
	"github.com/plinth-dev/plinth/test/prereq"
)

// TestRuntimeDrivesTheInstalledPlugin plays the container runtime with
// libcni on a node whose only CNI is Plinth: it sets the pod's lo up with
// the loopback plugin install-cni put there (issue #10: "failed to find
// plugin loopback"), loads the conflist the agent wrote and executes the
// plugin binary the agent installed, for every verb.
func TestRuntimeDrivesTheInstalledPlugin(t *testing.T) {
	prereq.Root(t)
	prereq.Commands(t, "ip", "ping", "nft")
	c := sharedSubnet(t)
	n := c.nodes[0]
	c.nodes = c.nodes[:1]
	cfg := n.config(agent.ModeAuto)
	bin, err := netnstest.BuildBinary(t.TempDir(), netnstest.PluginPackage)
	if err != nil {
		t.Fatal(err)
	}
	cfg.PluginBinary = bin
	loopback, err := netnstest.BuildBinary(t.TempDir(), netnstest.LoopbackPackage)
	if err != nil {
		t.Fatal(err)
	}
	if installed, err := agent.InstallLoopback(loopback, cfg.CNIBinDir); err != nil || !installed {
		t.Fatalf("InstallLoopback = %v, %v", installed, err)
	}
	a, err := agent.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	n.agent = a
	t.Cleanup(func() { _ = n.netns.Do(func(ns.NetNS) error { return a.Cleanup(context.Background()) }) })
	ctx := context.Background()
	runtime := libcni.NewCNIConfigWithCacheDir([]string{cfg.CNIBinDir}, t.TempDir(), nil)
	pod := netnstest.NewNS(t)
	netnstest.MustRun(t, pod, "ip", "link", "set", "lo", "down") // as a new sandbox has it
	rt := &libcni.RuntimeConf{ContainerID: "runtime-pod", NetNS: pod.Path(), IfName: "eth0"}
	lo := &libcni.RuntimeConf{ContainerID: rt.ContainerID, NetNS: pod.Path(), IfName: "lo"}
	loConf, err := libcni.NetworkPluginConfFromBytes([]byte(`{"cniVersion": "1.1.0", "name": "cni-loopback", "type": "loopback"}`))
	if err != nil {
		t.Fatal(err)
	}

	err = n.netns.Do(func(ns.NetNS) error {
		if err := a.Sync(ctx, c.nodeList()); err != nil {
			return err
		}
		list, err := libcni.ConfListFromFile(a.ConflistPath())
		if err != nil {
			return err
		}
		if err := runtime.GetStatusNetworkList(ctx, list); err != nil {
			t.Errorf("STATUS: %v", err)
		}
		if _, err := runtime.AddNetwork(ctx, loConf, lo); err != nil {
			return fmt.Errorf("loopback ADD: %w", err)
		}
		res, err := runtime.AddNetworkList(ctx, list, rt)
		if err != nil {
			return fmt.Errorf("ADD: %w", err)
		}
		if err := reachesNode(pod, res, n.internal(0)); err != nil {
			t.Error(err)
		}
		if err := runtime.CheckNetworkList(ctx, list, rt); err != nil {
			t.Errorf("CHECK: %v", err)
		}
		valid := &libcni.GCArgs{ValidAttachments: []types.GCAttachment{{ContainerID: rt.ContainerID, IfName: rt.IfName}}}
		if err := runtime.GCNetworkList(ctx, list, valid); err != nil {
			t.Errorf("GC keeping the pod: %v", err)
		}
		if err := runtime.CheckNetworkList(ctx, list, rt); err != nil {
			t.Errorf("CHECK after GC: %v", err)
		}
		if err := runtime.DelNetworkList(ctx, list, rt); err != nil {
			t.Errorf("DEL: %v", err)
		}
		if err := runtime.DelNetwork(ctx, loConf, lo); err != nil {
			t.Errorf("loopback DEL: %v", err)
		}
		return runtime.GCNetworkList(ctx, list, &libcni.GCArgs{})
	})
	if err != nil {
		t.Fatal(err)
	}
	c.tearDown(t)
}

// reachesNode checks the result and that the pod can reach its node; it
// runs inside ns.Do, on a goroutine where t.Fatal must not be called.
func reachesNode(pod ns.NetNS, res types.Result, nodeIP string) error {
	cur, err := current.NewResultFromResult(res)
	if err != nil {
		return fmt.Errorf("failed to convert result: %w", err)
	}
	if len(cur.IPs) != 2 {
		return fmt.Errorf("result has %v, want two addresses", cur.IPs)
	}
	if err := netnstest.Eventually(pingWait, func() error { return netnstest.Ping(pod, nodeIP) }); err != nil {
		return fmt.Errorf("pod cannot reach its node: %w", err)
	}
	return nil
}
