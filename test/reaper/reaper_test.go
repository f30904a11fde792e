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

package reaper_test

import (
	"bufio"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/util/wait"

	"github.com/plinth-dev/plinth/test/prereq"
	"github.com/plinth-dev/plinth/test/reaper"
)

// childEnv makes the test binary play an owner that sets things up,
// reports them on stdout and waits to be killed.
const childEnv = "PLINTH_REAPER_TEST_CHILD"

// held is what the child reports it holds.
type held struct {
	PID    int
	Dir    string
	Mount  string
	Image  string
	Lock   string // a loop device over the mount's loop device, as the kubelet makes
	Netns  string
	Cgroup string
}

// TestKilledOwnerLeavesNothing kills an owner with SIGKILL while it holds a
// process, a directory and, as root, a loop-mounted filesystem held open by
// a second loop device over the first one's node (as a killed kubelet
// leaves a mapped block volume), a network namespace and a cgroup: the
// watchdog must release all of them.
func TestKilledOwnerLeavesNothing(t *testing.T) {
	root := os.Geteuid() == 0
	if root {
		prereq.Commands(t, "truncate", "mkfs.ext4", "mount", "ip", "losetup", "findmnt")
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestChildOwner$", "-test.v")
	cmd.Env = append(os.Environ(), childEnv+"="+t.TempDir())
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	h := readHeld(t, out)
	_ = cmd.Process.Kill()
	_ = cmd.Wait()

	checks := map[string]func() bool{
		"process " + itoa(h.PID): func() bool { return syscall.Kill(h.PID, 0) != nil },
		"dir " + h.Dir:           func() bool { return !exists(h.Dir) },
	}
	if root {
		checks["mount "+h.Mount] = func() bool { return !mounted(t, h.Mount) }
		checks["loop device of "+h.Image] = func() bool { return !loopAttached(t, h.Image) }
		checks["loop device "+h.Lock+" over it"] = func() bool { return !exists("/sys/block/" + filepath.Base(h.Lock) + "/loop") }
		checks["netns "+h.Netns] = func() bool { return !exists(filepath.Join("/run/netns", h.Netns)) }
		checks["cgroup "+h.Cgroup] = func() bool { return !exists(filepath.Join("/sys/fs/cgroup/pids", h.Cgroup)) }
	}
	for what, gone := range checks {
		err := wait.PollUntilContextTimeout(context.Background(), 50*time.Millisecond, time.Minute, true,
			func(context.Context) (bool, error) { return gone(), nil })
		if err != nil {
			t.Errorf("%s survived its killed owner", what)
		}
	}
}

// TestChildOwner is the owner TestKilledOwnerLeavesNothing kills.
func TestChildOwner(t *testing.T) {
	base := os.Getenv(childEnv)
	if base == "" {
		t.Skip("run by TestKilledOwnerLeavesNothing")
	}
	r, err := reaper.Get()
	if err != nil {
		t.Fatal(err)
	}
	h := held{Dir: filepath.Join(base, "state")}
	track(t, r, func(s *reaper.State) { s.Dirs = append(s.Dirs, h.Dir) })
	must(t, os.MkdirAll(h.Dir, 0o700))
	sleeper := exec.Command("sleep", "1000")
	must(t, sleeper.Start())
	h.PID = sleeper.Process.Pid
	must(t, r.TrackProcess(h.PID))
	if os.Geteuid() == 0 {
		holdRootThings(t, r, &h)
	}
	data, _ := json.Marshal(h)
	os.Stdout.WriteString("HELD " + string(data) + "\n")
	select {} // until killed
}

func holdRootThings(t *testing.T, r *reaper.Registry, h *held) {
	h.Image, h.Mount = filepath.Join(h.Dir, "fs.img"), filepath.Join(h.Dir, "mnt")
	track(t, r, func(s *reaper.State) {
		s.LoopFiles = append(s.LoopFiles, h.Image)
		s.Mounts = append(s.Mounts, h.Mount)
	})
	must(t, os.MkdirAll(h.Mount, 0o700))
	run(t, "truncate", "-s", "64M", h.Image)
	run(t, "mkfs.ext4", "-q", "-F", h.Image)
	run(t, "mount", "-o", "loop", h.Image, h.Mount)
	device := output(t, "findmnt", "-n", "-o", "SOURCE", "--mountpoint", h.Mount)
	h.Lock = output(t, "losetup", "--find", "--show", device)
	h.Netns = "plinth-reaper-test-" + itoa(os.Getpid())
	track(t, r, func(s *reaper.State) { s.Netns = append(s.Netns, h.Netns) })
	run(t, "ip", "netns", "add", h.Netns)
	h.Cgroup = h.Netns
	track(t, r, func(s *reaper.State) { s.Cgroups = append(s.Cgroups, h.Cgroup) })
	must(t, os.Mkdir(filepath.Join("/sys/fs/cgroup/pids", h.Cgroup), 0o755))
}

func readHeld(t *testing.T, out interface{ Read([]byte) (int, error) }) held {
	t.Helper()
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "HELD "); ok {
			var h held
			must(t, json.Unmarshal([]byte(rest), &h))
			return h
		}
	}
	t.Fatalf("the owner exited before reporting what it holds: %v", sc.Err())
	return held{}
}

func track(t *testing.T, r *reaper.Registry, fn func(*reaper.State)) {
	t.Helper()
	must(t, r.Track(fn))
}

func mounted(t *testing.T, path string) bool {
	data, err := os.ReadFile("/proc/self/mountinfo")
	must(t, err)
	return strings.Contains(string(data), " "+path+" ")
}

func loopAttached(t *testing.T, image string) bool {
	out, err := exec.Command("losetup", "-j", image).CombinedOutput()
	return err == nil && len(strings.TrimSpace(string(out))) > 0
}

func exists(path string) bool {
	_, err := os.Lstat(path)
	return err == nil
}

func run(t *testing.T, name string, args ...string) {
	t.Helper()
	if out, err := exec.Command(name, args...).CombinedOutput(); err != nil {
		t.Fatalf("%s %v: %v: %s", name, args, err, out)
	}
}

func output(t *testing.T, name string, args ...string) string {
	t.Helper()
	out, err := exec.Command(name, args...).Output()
	if err != nil {
		t.Fatalf("%s %v: %v", name, args, err)
	}
	return strings.TrimSpace(string(out))
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func itoa(n int) string { return strconv.Itoa(n) }

// TestHostDirsStayWhileAnotherOwnerUsesThem: a host directory that other
// mount namespaces mount over is removed only by the last owner using it
// (removing it would unmount it everywhere).
func TestHostDirsStayWhileAnotherOwnerUsesThem(t *testing.T) {
	t.Setenv("TMPDIR", t.TempDir()) // a registry of the test's own
	dir := filepath.Join(t.TempDir(), "var-lib-kubelet")
	must(t, os.Mkdir(dir, 0o755))
	must(t, os.WriteFile(filepath.Join(dir, reaper.MadeMarker), nil, 0o600))
	self, err := reaper.Self()
	must(t, err)
	must(t, os.MkdirAll(reaper.Root(), 0o700))
	other := filepath.Join(reaper.Root(), "other.json")
	data, _ := json.Marshal(reaper.State{Owner: self, UsedDirs: []string{dir}})
	must(t, os.WriteFile(other, data, 0o600))

	must(t, reaper.Clean(reaper.State{EmptyDirs: []string{dir}}))
	if !exists(dir) {
		t.Fatal("the directory was removed while another owner uses it")
	}
	must(t, os.Remove(other))
	must(t, reaper.Clean(reaper.State{EmptyDirs: []string{dir}}))
	if exists(dir) {
		t.Error("the last owner left the directory behind")
	}
}
