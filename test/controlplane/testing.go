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
	"bufio"
	"context"
	"os"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/plinth-dev/plinth/test/prereq"
)

// logTailLines is how much of each component's log a failed test prints.
const logTailLines = 20

// StartForTest starts a control plane for t and stops it when t ends. It
// fails t (skips it outside CI) when the binaries are missing. When t fails,
// the control plane's directory is kept and t's log names each component's
// log file and shows its last lines.
func StartForTest(t testing.TB, opts Options) *ControlPlane {
	t.Helper()
	_, err := FindBinDir(opts.BinDir)
	prereq.Require(t, err == nil, "control-plane binaries: %v", err)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	began := time.Now()
	cp, err := Start(ctx, opts)
	if err != nil {
		if cp != nil {
			cp.reportLogs(t)
		}
		t.Fatalf("failed to start the control plane: %v", err)
	}
	t.Logf("control plane started in %s (dir %s)", time.Since(began).Round(time.Millisecond), cp.Dir)
	t.Cleanup(func() {
		if t.Failed() {
			cp.KeepDir()
			cp.reportLogs(t)
		}
		if err := cp.Stop(); err != nil {
			t.Errorf("failed to stop the control plane: %v", err)
		}
	})
	return cp
}

// reportLogs prints where each component logged, with the last lines.
func (cp *ControlPlane) reportLogs(t testing.TB) {
	t.Helper()
	names := make([]string, 0, len(cp.logs))
	for name := range cp.logs {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		t.Logf("%s log: %s\n%s", name, cp.logs[name], indent(tail(cp.logs[name], logTailLines)))
	}
}

// tail returns the last n lines of a file, or why it cannot.
func tail(path string, n int) string {
	f, err := os.Open(path)
	if err != nil {
		return err.Error()
	}
	defer func() { _ = f.Close() }()
	var lines []string
	scanner := bufio.NewScanner(f)
	scanner.Buffer(make([]byte, 64*1024), 1024*1024)
	for scanner.Scan() {
		lines = append(lines, scanner.Text())
		if len(lines) > n {
			lines = lines[1:]
		}
	}
	return strings.Join(lines, "\n")
}

func indent(s string) string {
	return "    " + strings.ReplaceAll(s, "\n", "\n    ")
}
