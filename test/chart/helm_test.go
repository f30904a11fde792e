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
