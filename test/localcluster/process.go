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

package localcluster

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"syscall"
	"time"

	"k8s.io/apimachinery/pkg/util/wait"

	"github.com/plinth-dev/plinth/test/reaper"
)

// spawnRequests are served by one goroutine locked to its OS thread for the
// life of the process. A child's parent-death signal fires when the thread
// that forked it exits, not the process: forking from a thread that never
// exits makes the signal mean "the harness died".
var spawnRequests = make(chan spawnRequest)

type spawnRequest struct {
	cmd  *exec.Cmd
	done chan error
}

func init() {
	go func() {
		runtime.LockOSThread() // never unlocked: this thread lives as long as the process
		for req := range spawnRequests {
			req.done <- req.cmd.Start()
		}
	}()
}

// process is a daemon of the cluster with its output in a log file.
type process struct {
	name    string
	logPath string
	cmd     *exec.Cmd
	done    chan struct{}
	err     error // exit status, valid once done is closed
}

// startProcess starts argv with its output appended to logPath. The child
// gets SIGKILL if the harness dies, and the reaper knows it.
func startProcess(name, logPath string, env []string, argv ...string) (*process, error) {
	logFile, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return nil, fmt.Errorf("failed to open the log of %s: %w", name, err)
	}
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.Env = append(os.Environ(), env...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL, Setpgid: true}
	req := spawnRequest{cmd: cmd, done: make(chan error)}
	spawnRequests <- req
	if err := <-req.done; err != nil {
		_ = logFile.Close()
		return nil, fmt.Errorf("failed to start %s: %w", name, err)
	}
	p := &process{name: name, logPath: logPath, cmd: cmd, done: make(chan struct{})}
	if r, err := reaper.Get(); err == nil {
		_ = r.TrackProcess(cmd.Process.Pid)
	}
	go func() {
		p.err = cmd.Wait()
		_ = logFile.Close()
		if r, err := reaper.Get(); err == nil {
			_ = r.ReleaseProcess(cmd.Process.Pid)
		}
		close(p.done)
	}()
	return p, nil
}

// exited returns an error naming the log if the process has exited.
func (p *process) exited() error {
	select {
	case <-p.done:
		return fmt.Errorf("%s exited (log: %s): %w", p.name, p.logPath, p.err)
	default:
		return nil
	}
}

// stop sends sig to the process (and to its child when it runs through
// nsenter, which does not forward signals), then SIGKILL after grace.
func (p *process) stop(sig syscall.Signal, grace time.Duration) error {
	select {
	case <-p.done:
		return nil
	default:
	}
	pids := append(reaper.Children(p.cmd.Process.Pid), p.cmd.Process.Pid)
	for _, pid := range pids {
		_ = syscall.Kill(pid, sig)
	}
	select {
	case <-p.done:
	case <-time.After(grace):
		for _, pid := range pids {
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
		<-p.done
	}
	// The child of nsenter may outlive it by a moment.
	return waitGone(pids, grace)
}

func waitGone(pids []int, timeout time.Duration) error {
	gone := func(pid int) bool { return syscall.Kill(pid, 0) != nil || isZombie(pid) }
	err := poll(context.Background(), timeout, func(context.Context) (bool, error) {
		return !slices.ContainsFunc(pids, func(pid int) bool { return !gone(pid) }), nil
	})
	if err != nil {
		return fmt.Errorf("processes %v did not exit: %w", pids, err)
	}
	return nil
}

// poll runs cond every 50ms until it reports done, fails, or timeout passes.
func poll(ctx context.Context, timeout time.Duration, cond wait.ConditionWithContextFunc) error {
	return wait.PollUntilContextTimeout(ctx, 50*time.Millisecond, timeout, true, cond)
}

func isZombie(pid int) bool {
	p, err := reaper.Lookup(pid)
	return err == nil && !p.Alive()
}
