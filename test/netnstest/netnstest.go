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

package netnstest

import (
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/containernetworking/plugins/pkg/ns"
	"github.com/containernetworking/plugins/pkg/testutils"

	"github.com/plinth-dev/plinth/test/prereq"
	"github.com/plinth-dev/plinth/test/reaper"
)

// NewNS creates a named network namespace that is closed and unmounted when
// the test ends, with its loopback up.
func NewNS(t testing.TB) ns.NetNS {
	t.Helper()
	prereq.Root(t)
	r, err := reaper.Get()
	if err != nil {
		t.Fatalf("failed to open the reaper: %v", err)
	}
	netns, err := testutils.NewNS()
	if err != nil {
		t.Fatalf("failed to create netns: %v", err)
	}
	// A killed test binary runs no cleanup: the reaper removes it then.
	name := filepath.Base(netns.Path())
	if err := r.Track(func(s *reaper.State) { s.Netns = append(s.Netns, name) }); err != nil {
		_ = netns.Close()
		_ = testutils.UnmountNS(netns)
		t.Fatalf("failed to record netns %s: %v", name, err)
	}
	t.Cleanup(func() {
		if err := netns.Close(); err != nil {
			t.Errorf("failed to close netns: %v", err)
		}
		if err := testutils.UnmountNS(netns); err != nil {
			t.Errorf("failed to unmount netns: %v", err)
		}
		_ = r.Release(func(s *reaper.State) { s.Netns = reaper.Remove(s.Netns, name) })
	})
	MustRun(t, netns, "ip", "link", "set", "lo", "up")
	return netns
}

// Run runs a command inside netns and returns its combined output.
func Run(netns ns.NetNS, name string, args ...string) (string, error) {
	var out []byte
	err := netns.Do(func(ns.NetNS) error {
		var err error
		if out, err = exec.Command(name, args...).CombinedOutput(); err != nil {
			return fmt.Errorf("failed to execute: %w", err)
		}
		return nil
	})
	if err != nil {
		return string(out), fmt.Errorf("failed to run %s %s: %w: %s", name, strings.Join(args, " "), err, out)
	}
	return string(out), nil
}

// MustRun is Run that fails the test on error.
func MustRun(t testing.TB, netns ns.NetNS, name string, args ...string) string {
	t.Helper()
	out, err := Run(netns, name, args...)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// Ping sends one echo request from inside netns to dst and succeeds on reply.
func Ping(netns ns.NetNS, dst string) error {
	_, err := Run(netns, "ping", "-c", "1", "-W", "2", dst)
	return err
}

// Eventually polls cond until it returns nil or the timeout passes, and
// returns the last error.
func Eventually(timeout time.Duration, cond func() error) error {
	deadline := time.Now().Add(timeout)
	for {
		err := cond()
		if err == nil || time.Now().After(deadline) {
			return err
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func nsName(n ns.NetNS) string {
	return filepath.Base(n.Path())
}
