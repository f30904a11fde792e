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

package chart_test

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/plinth-dev/plinth/test/controlplane"
	"github.com/plinth-dev/plinth/test/prereq"
)

// repoPath returns path relative to the repository root.
func repoPath(t testing.TB, path ...string) string {
	t.Helper()
	root, err := controlplane.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	return filepath.Join(append([]string{root}, path...)...)
}

// chartDir is the chart under test.
func chartDir(t testing.TB) string { return repoPath(t, "charts", "plinth") }

// helmBinary returns bin/helm, installed by `make helm` (a prerequisite of
// `make test`).
func helmBinary(t testing.TB) string {
	t.Helper()
	bin := repoPath(t, "bin", "helm")
	if _, err := os.Stat(bin); err != nil {
		prereq.Require(t, false, "helm is missing at %s: run `make helm`", bin)
	}
	return bin
}

// helm runs helm with args and returns its stdout, stderr and error.
func helm(t testing.TB, env []string, args ...string) (string, string, error) {
	t.Helper()
	cmd := exec.Command(helmBinary(t), args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	cmd.Env = append(os.Environ(), "HELM_CACHE_HOME="+t.TempDir(), "HELM_CONFIG_HOME="+t.TempDir(), "HELM_DATA_HOME="+t.TempDir())
	cmd.Env = append(cmd.Env, env...)
	err := cmd.Run()
	return stdout.String(), stderr.String(), err
}

// mustHelm runs helm and fails the test on error.
func mustHelm(t testing.TB, env []string, args ...string) string {
	t.Helper()
	out, errOut, err := helm(t, env, args...)
	if err != nil {
		t.Fatalf("helm %v: %v\n%s", args, err, errOut)
	}
	return out
}
