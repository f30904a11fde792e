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

package scale

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/plinth-dev/plinth/test/controlplane"
)

// buildBinaries builds plinth-node and plinth-controller into a temporary
// directory and returns it.
func buildBinaries(tb testing.TB) string {
	tb.Helper()
	root, err := controlplane.RepoRoot()
	if err != nil {
		tb.Fatal(err)
	}
	dir := tb.TempDir()
	cmd := exec.Command("go", "build", "-o", dir+"/", "./cmd/plinth-node", "./cmd/plinth-controller")
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		tb.Fatalf("failed to build the binaries: %v: %s", err, out)
	}
	return dir
}

// process is a component under measurement, run as its own binary.
type process struct {
	name        string
	cmd         *exec.Cmd
	metricsAddr string
	done        chan error
}

// startProcess runs binary with args, KUBECONFIG set to kubeconfig and its
// metrics served in plain HTTP on a free loopback port, its output in
// logDir/NAME.log.
func startProcess(tb testing.TB, name, binary, kubeconfig, logDir string, args ...string) *process {
	tb.Helper()
	addr := freeAddress(tb)
	log, err := os.Create(filepath.Join(logDir, name+".log"))
	if err != nil {
		tb.Fatalf("failed to create the log of %s: %v", name, err)
	}
	args = append(args, "--metrics-bind-address="+addr, "--metrics-secure=false", "--health-probe-bind-address=0")
	cmd := exec.Command(binary, args...)
	cmd.Env = append(os.Environ(), "KUBECONFIG="+kubeconfig)
	cmd.Stdout, cmd.Stderr = log, log
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		tb.Fatalf("failed to start %s: %v", name, err)
	}
	p := &process{name: name, cmd: cmd, metricsAddr: addr, done: make(chan error, 1)}
	go func() { p.done <- cmd.Wait(); _ = log.Close() }()
	tb.Cleanup(func() { p.stop(tb) })
	return p
}

// stop ends the process with SIGTERM, then SIGKILL after 30 seconds.
func (p *process) stop(tb testing.TB) {
	tb.Helper()
	if p.cmd.ProcessState != nil {
		return
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(30 * time.Second):
		_ = p.cmd.Process.Kill()
		<-p.done
	}
}

// exited returns the process's exit, or nil while it runs.
func (p *process) exited() error {
	select {
	case err := <-p.done:
		p.done <- err
		return fmt.Errorf("%s exited: %w", p.name, err)
	default:
		return nil
	}
}

func freeAddress(tb testing.TB) string {
	tb.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatalf("failed to find a free port: %v", err)
	}
	defer func() { _ = l.Close() }()
	return l.Addr().String()
}

// rssBytes returns the process's resident set size, VmRSS of
// /proc/PID/status.
func (p *process) rssBytes() (float64, error) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", p.cmd.Process.Pid))
	if err != nil {
		return 0, fmt.Errorf("failed to read the status of %s: %w", p.name, err)
	}
	for line := range strings.SplitSeq(string(data), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kib, err := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 64)
			if err != nil {
				return 0, fmt.Errorf("unexpected VmRSS of %s %q: %w", p.name, rest, err)
			}
			return kib * 1024, nil
		}
	}
	return 0, fmt.Errorf("no VmRSS in the status of %s", p.name)
}

// cpuSeconds returns the CPU time the process has used.
func (p *process) cpuSeconds() (float64, error) {
	return controlplane.CPUSeconds(p.cmd.Process.Pid)
}

// metric returns the sum of a metric's series on the process's metrics
// endpoint (go_memstats_heap_inuse_bytes, say).
func (p *process) metric(ctx context.Context, name string) (float64, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+p.metricsAddr+"/metrics", nil)
	if err != nil {
		return 0, fmt.Errorf("failed to build the metrics request: %w", err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, fmt.Errorf("failed to read the metrics of %s: %w", p.name, err)
	}
	defer func() { _ = resp.Body.Close() }()
	metrics, err := controlplane.ParseMetrics(resp.Body)
	if err != nil {
		return 0, fmt.Errorf("the metrics of %s: %w", p.name, err)
	}
	samples, ok := metrics[name]
	if !ok {
		return 0, fmt.Errorf("%s serves no %s", p.name, name)
	}
	return samples.Sum(), nil
}
