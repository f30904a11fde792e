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

package hostmount_test

import (
	"bufio"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/plinth-dev/plinth/csi-driver/hostmount"
	"github.com/plinth-dev/plinth/test/prereq"
)

// privateHost starts a process in a mount namespace whose mounts are all
// private, as on a host without systemd, and returns its PID.
func privateHost(t *testing.T) int {
	t.Helper()
	prereq.Root(t)
	prereq.Commands(t, "unshare", "nsenter", "findmnt")
	cmd := exec.Command("unshare", "--mount", "--propagation", "private", "--", "sh", "-c", "echo ready; exec sleep 3600")
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	if line, err := bufio.NewReader(out).ReadString('\n'); err != nil || strings.TrimSpace(line) != "ready" {
		t.Fatalf("the private namespace did not start: %q %v", line, err)
	}
	return cmd.Process.Pid
}

func propagation(t *testing.T, pid int, dir string) string {
	t.Helper()
	out, err := exec.Command("nsenter", "-t", strconv.Itoa(pid), "-m", "findmnt", "-n", "-o", "PROPAGATION", "--mountpoint", dir).CombinedOutput()
	if err != nil {
		return "not a mount point"
	}
	return strings.TrimSpace(string(out))
}

func TestEnsureSharedBindsAndSharesAPrivateDirectory(t *testing.T) {
	pid := privateHost(t)
	ns := "/proc/" + strconv.Itoa(pid) + "/ns/mnt"
	dir := filepath.Join(t.TempDir(), "var", "lib", "plinth", "pool")

	res, err := hostmount.EnsureShared(ns, dir)
	if err != nil {
		t.Fatal(err)
	}
	if !res.Bound || !res.MadeShared || res.MountPoint != dir {
		t.Errorf("first call = %+v, want a bind mount of %s made shared", res, dir)
	}
	if got := propagation(t, pid, dir); got != "shared" {
		t.Errorf("propagation of %s in the host namespace = %q, want shared", dir, got)
	}
	if got := propagation(t, os.Getpid(), dir); got != "not a mount point" {
		t.Errorf("the caller's own namespace changed: %s is %q", dir, got)
	}

	res, err = hostmount.EnsureShared(ns, dir)
	if err != nil {
		t.Fatal(err)
	}
	if res.Bound || res.MadeShared {
		t.Errorf("second call = %+v, want nothing done", res)
	}
}

func TestEnsureSharedSharesAPrivateMountPoint(t *testing.T) {
	pid := privateHost(t)
	dir := t.TempDir()
	if out, err := exec.Command("nsenter", "-t", strconv.Itoa(pid), "-m", "mount", "-t", "tmpfs", "pool", dir).CombinedOutput(); err != nil {
		t.Fatalf("mount: %v: %s", err, out)
	}
	res, err := hostmount.EnsureShared("/proc/"+strconv.Itoa(pid)+"/ns/mnt", dir)
	if err != nil {
		t.Fatal(err)
	}
	if res.Bound || !res.MadeShared {
		t.Errorf("result = %+v, want the existing mount made shared", res)
	}
	if got := propagation(t, pid, dir); got != "shared" {
		t.Errorf("propagation = %q, want shared", got)
	}
}

func TestEnsureSharedRefusesBadInput(t *testing.T) {
	for _, dir := range []string{"relative/pool", "/var/lib/../pool", ""} {
		if _, err := hostmount.EnsureShared("/nonexistent", dir); err == nil {
			t.Errorf("EnsureShared(%q) succeeded", dir)
		}
	}
	if _, err := hostmount.EnsureShared("/nonexistent/ns/mnt", "/var/lib/plinth/pool"); err == nil || !strings.Contains(err.Error(), "host's /proc") {
		t.Errorf("missing namespace file: err = %v, want one naming the host's /proc", err)
	}
}

func TestReleaseUndoesOnlyWhatEnsureSharedDid(t *testing.T) {
	pid := privateHost(t)
	ns := "/proc/" + strconv.Itoa(pid) + "/ns/mnt"
	parent := filepath.Join(t.TempDir(), "plinth")
	dir := filepath.Join(parent, "pool")
	if _, err := hostmount.EnsureShared(ns, dir); err != nil {
		t.Fatal(err)
	}
	gone, err := hostmount.Release(ns, dir)
	if err != nil || !gone {
		t.Fatalf("Release = %v, %v; want the directory gone", gone, err)
	}
	if got := propagation(t, pid, dir); got != "not a mount point" {
		t.Errorf("after Release %s is %q", dir, got)
	}
	if _, err := os.Stat(parent); !os.IsNotExist(err) {
		t.Errorf("the empty parent %s survived: %v", parent, err)
	}

	// A mount point that somebody else made stays, with its directory.
	other := t.TempDir()
	if out, err := exec.Command("nsenter", "-t", strconv.Itoa(pid), "-m", "mount", "-t", "tmpfs", "disk", other).CombinedOutput(); err != nil {
		t.Fatalf("mount: %v: %s", err, out)
	}
	if _, err := hostmount.EnsureShared(ns, other); err != nil {
		t.Fatal(err)
	}
	if gone, err := hostmount.Release(ns, other); err != nil || gone {
		t.Errorf("Release of an admin's mount = %v, %v; want it kept", gone, err)
	}
	if got := propagation(t, pid, other); got != "shared" {
		t.Errorf("the admin's mount is now %q", got)
	}
}

func TestRemoveEmptyRemovesOnlyEmptyDirectories(t *testing.T) {
	pid := privateHost(t)
	base := t.TempDir()
	empty, full := filepath.Join(base, "empty"), filepath.Join(base, "full")
	for _, d := range []string{empty, full} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(full, "keep"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	err := hostmount.RemoveEmpty("/proc/"+strconv.Itoa(pid)+"/ns/mnt", empty, full, filepath.Join(base, "missing"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(empty); !os.IsNotExist(err) {
		t.Errorf("empty directory survived: %v", err)
	}
	if _, err := os.Stat(filepath.Join(full, "keep")); err != nil {
		t.Errorf("a directory with content was touched: %v", err)
	}
	if err := hostmount.RemoveEmpty("/proc/"+strconv.Itoa(pid)+"/ns/mnt", "relative"); err == nil {
		t.Error("a relative path was accepted")
	}
}
