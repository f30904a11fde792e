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

package controlplane

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/plinth-dev/plinth/test/reaper"
)

// RunProcess runs a binary beside the control plane, such as a controller
// under test, with args and env (KEY=value, added to the harness's
// environment), its output in Dir/logs/NAME.log. Stop stops it before the
// control plane's own components; it is killed if the harness dies.
func (cp *ControlPlane) RunProcess(name, binary string, args, env []string) error {
	logPath := filepath.Join(cp.Dir, "logs", name+".log")
	p, err := startProcess(name, binary, logPath, args, env)
	if err != nil {
		return err
	}
	cp.processes = append(cp.processes, p)
	cp.logs[name] = logPath
	return nil
}

// Exited reports, for a process RunProcess started, whether it exited and
// with what.
func (cp *ControlPlane) Exited(name string) (bool, error) {
	for _, p := range cp.processes {
		if p.name != name {
			continue
		}
		select {
		case <-p.done:
			return true, fmt.Errorf("%s exited: %w (log: %s)", name, p.err, p.logPath)
		default:
			return false, nil
		}
	}
	return false, fmt.Errorf("no process %s", name)
}

// PIDs maps the name of every running process of the control plane (etcd,
// kube-apiserver, the components and what RunProcess started) to its
// process ID, for per-process accounting such as CPU time from /proc.
func (cp *ControlPlane) PIDs() map[string]int {
	pids := map[string]int{}
	for _, p := range cp.processes {
		select {
		case <-p.done:
		default:
			pids[p.name] = p.cmd.Process.Pid
		}
	}
	for _, pid := range reaper.Children(os.Getpid()) {
		if name := reaper.Command(pid); name == "etcd" || name == "kube-apiserver" {
			pids[name] = pid
		}
	}
	return pids
}

// CPUSeconds returns the CPU time (user and system) a process has used, from
// /proc/PID/stat.
func CPUSeconds(pid int) (float64, error) {
	data, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "stat"))
	if err != nil {
		return 0, fmt.Errorf("failed to read the CPU time of process %d: %w", pid, err)
	}
	// The command name (field 2) may hold spaces; the fields after its
	// closing parenthesis start with the state (field 3).
	fields := strings.Fields(string(data[strings.LastIndexByte(string(data), ')')+1:]))
	const utime, stime = 14 - 3, 15 - 3
	if len(fields) <= stime {
		return 0, fmt.Errorf("unexpected /proc/%d/stat: %q", pid, data)
	}
	var ticks float64
	for _, i := range []int{utime, stime} {
		v, err := strconv.ParseFloat(fields[i], 64)
		if err != nil {
			return 0, fmt.Errorf("unexpected /proc/%d/stat: %w", pid, err)
		}
		ticks += v
	}
	return ticks / clockTicks, nil
}

// clockTicks is USER_HZ, the unit of /proc's CPU times: 100 on every Linux
// architecture Go supports.
const clockTicks = 100
