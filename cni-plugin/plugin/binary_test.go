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

package plugin_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/containernetworking/cni/pkg/invoke"
	"github.com/containernetworking/cni/pkg/types"
	current "github.com/containernetworking/cni/pkg/types/100"
	"github.com/containernetworking/cni/pkg/version"
	"github.com/containernetworking/plugins/pkg/ns"
	"github.com/containernetworking/plugins/pkg/testutils"

	"github.com/plinth-dev/plinth/cni-plugin/ipam"
	"github.com/plinth-dev/plinth/test/netnstest"
)

var (
	buildOnce  sync.Once
	binaryPath string
	buildErr   error
)

// pluginBinary builds cmd/plinth-cni once per test binary run.
func pluginBinary(t testing.TB) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "plinth-cni-bin-")
		if err != nil {
			buildErr = err
			return
		}
		binaryPath, buildErr = netnstest.BuildBinary(dir, netnstest.PluginPackage)
		if buildErr != nil {
			os.RemoveAll(dir)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binaryPath
}

func TestMain(m *testing.M) {
	code := m.Run()
	if binaryPath != "" {
		os.RemoveAll(filepath.Dir(binaryPath))
	}
	os.Exit(code)
}

// binary drives the built plugin through the runtime's invoke package.
type binary struct {
	n    *node
	path string
}

func newBinary(t testing.TB, n *node) binary {
	return binary{n: n, path: pluginBinary(t)}
}

func (b binary) args(verb, cid string, pod ns.NetNS) *invoke.Args {
	a := &invoke.Args{Command: verb, ContainerID: cid, IfName: "eth0", Path: filepath.Dir(b.path)}
	if pod != nil {
		a.NetNS = pod.Path()
	}
	return a
}

func (b binary) add(version, cid string, pod ns.NetNS) (*current.Result, error) {
	var res types.Result
	err := b.n.hostNS.Do(func(ns.NetNS) error {
		var err error
		res, err = invoke.ExecPluginWithResult(context.Background(), b.path, b.n.conf(version, nil), b.args("ADD", cid, pod), nil)
		return err
	})
	if err != nil {
		return nil, err
	}
	cur, err := current.NewResultFromResult(res)
	if err != nil {
		return nil, fmt.Errorf("failed to convert result: %w", err)
	}
	return cur, nil
}

func (b binary) run(verb, version, cid string, pod ns.NetNS, extra map[string]any) error {
	return b.n.hostNS.Do(func(ns.NetNS) error {
		return invoke.ExecPluginWithoutResult(context.Background(), b.path, b.n.conf(version, extra), b.args(verb, cid, pod), nil)
	})
}

func TestBinaryReportsEverySpecVersion(t *testing.T) {
	n := newNode(t)
	b := newBinary(t, n)
	var info version.PluginInfo
	err := n.hostNS.Do(func(ns.NetNS) error {
		var err error
		info, err = invoke.GetVersionInfo(context.Background(), b.path, nil)
		return err
	})
	if err != nil {
		t.Fatalf("VERSION: %v", err)
	}
	if got := strings.Join(info.SupportedVersions(), ","); got != strings.Join(testutils.AllSpecVersions[:], ",") {
		t.Errorf("supported versions = %s", got)
	}
}

func TestBinaryEveryVerbForEverySpecVersion(t *testing.T) {
	for _, ver := range testutils.AllSpecVersions {
		t.Run(ver, func(t *testing.T) {
			n := newNode(t)
			b := newBinary(t, n)
			pod := netnstest.NewNS(t)
			res, err := b.add(ver, "bin", pod)
			if err != nil {
				t.Fatalf("ADD: %v", err)
			}
			assertPodConfigured(t, pod, res)
			if testutils.SpecVersionHasCHECK(ver) {
				if err := b.run("CHECK", ver, "bin", pod, prevResultFor(t, res, ver)); err != nil {
					t.Errorf("CHECK: %v", err)
				}
			}
			if testutils.SpecVersionHasSTATUS(ver) {
				err := b.run("STATUS", ver, "", nil, nil)
				var e *types.Error
				if !errors.As(err, &e) || e.Code != types.ErrPluginNotAvailable {
					t.Errorf("STATUS before agent = %v, want code 50", err)
				}
				n.markAgentReady(t)
				if err := b.run("STATUS", ver, "", nil, nil); err != nil {
					t.Errorf("STATUS: %v", err)
				}
				if err := b.run("GC", ver, "", nil, map[string]any{"cni.dev/valid-attachments": []types.GCAttachment{}}); err != nil {
					t.Errorf("GC: %v", err)
				}
			}
			for range 2 {
				if err := b.run("DEL", ver, "bin", pod, nil); err != nil {
					t.Fatalf("DEL: %v", err)
				}
			}
			n.assertClean(t)
		})
	}
}

func TestBinaryRejectsInvalidConfigWithFieldName(t *testing.T) {
	n := newNode(t)
	b := newBinary(t, n)
	pod := netnstest.NewNS(t)
	err := n.hostNS.Do(func(ns.NetNS) error {
		conf := n.conf("1.1.0", map[string]any{"ranges": []string{"10.0.0.0/33"}})
		_, err := invoke.ExecPluginWithResult(context.Background(), b.path, conf, b.args("ADD", "x", pod), nil)
		return err
	})
	var e *types.Error
	if !errors.As(err, &e) || e.Code != types.ErrInvalidNetworkConfig || !strings.Contains(e.Msg, "ranges[0]") {
		t.Fatalf("ADD with bad range = %v, want code 7 naming ranges[0]", err)
	}
}

func TestConcurrentAddsNeverDuplicateAddresses(t *testing.T) {
	const pods = 200
	n := newNode(t)
	b := newBinary(t, n)
	netnses := make([]ns.NetNS, pods)
	for i := range netnses {
		netnses[i] = netnstest.NewNS(t)
	}
	results := make([]*current.Result, pods)
	errs := make([]error, pods)
	var wg sync.WaitGroup
	for i := range pods {
		wg.Go(func() { results[i], errs[i] = b.add("1.1.0", fmt.Sprint("c", i), netnses[i]) })
	}
	wg.Wait()
	seen := map[string]int{}
	for i, res := range results {
		if errs[i] != nil {
			t.Fatalf("ADD %d: %v", i, errs[i])
		}
		for _, c := range res.IPs {
			if j, dup := seen[c.Address.IP.String()]; dup {
				t.Fatalf("%s given to pods %d and %d", c.Address.IP, j, i)
			}
			seen[c.Address.IP.String()] = i
		}
	}
	for i := range pods {
		wg.Go(func() { errs[i] = b.run("DEL", "1.1.0", fmt.Sprint("c", i), netnses[i], nil) })
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("DEL %d: %v", i, err)
		}
	}
	n.assertClean(t)
}

func TestKilledAddLeavesNothingGCCannotReclaim(t *testing.T) {
	n := newNode(t)
	b := newBinary(t, n)
	const attempts = 30
	for i := range attempts {
		pod := netnstest.NewNS(t)
		cmd := exec.Command(b.path)
		cmd.Env = append(os.Environ(), "CNI_COMMAND=ADD", "CNI_CONTAINERID=kill"+fmt.Sprint(i),
			"CNI_NETNS="+pod.Path(), "CNI_IFNAME=eth0", "CNI_PATH="+filepath.Dir(b.path))
		cmd.Stdin = strings.NewReader(string(n.conf("1.1.0", nil)))
		err := n.hostNS.Do(func(ns.NetNS) error { return cmd.Start() })
		if err != nil {
			t.Fatal(err)
		}
		// Kill at a random point: before, during or after the allocation.
		timer := time.AfterFunc(time.Duration(rand.IntN(15000))*time.Microsecond, func() { _ = cmd.Process.Kill() })
		_ = cmd.Wait()
		timer.Stop()
	}
	left, _ := n.store(t).List()
	t.Logf("%d of %d killed ADDs left an allocation, %d left a host veth", len(left), attempts, len(n.hostLinks(t)))
	if err := b.run("GC", "1.1.0", "", nil, map[string]any{"cni.dev/valid-attachments": []types.GCAttachment{}}); err != nil {
		t.Fatalf("GC: %v", err)
	}
	n.assertClean(t)
	// The range is whole again: the addresses of killed ADDs are reusable.
	addrs, err := n.store(t).Allocate(keyFor("after"), []netip.Prefix{netip.MustParsePrefix(podCIDRv4)}, ipam.Pod{})
	if err != nil || !addrs.IPs[0].IsValid() {
		t.Fatalf("Allocate after GC = %v, %v", addrs, err)
	}
}
