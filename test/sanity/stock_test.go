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

package sanity_test

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/container-storage-interface/spec/lib/go/csi"
	"github.com/go-logr/logr/testr"

	"github.com/plinth-dev/plinth/csi-driver/plugin"
	"github.com/plinth-dev/plinth/internal/csiconn"
	"github.com/plinth-dev/plinth/internal/wellknown"
	"github.com/plinth-dev/plinth/test/testpool"
)

const (
	// csiTestModule is the module of the csi-sanity command.
	csiTestModule = "github.com/kubernetes-csi/csi-test/v5"
	// poolSize holds what the suite creates at once, up to five volumes and
	// five snapshots of its default 10 GiB, with room to spare. The image is
	// sparse.
	poolSize = 160 << 30
	// suiteTimeout bounds one run of the suite.
	suiteTimeout = 30 * time.Minute
)

// TestStockCSISanityPasses runs the stock csi-sanity binary with its default
// options, only --csi.endpoint and the mount and staging directories (inside
// the kubelet directory the driver confines itself to), against the node
// plugin on an XFS pool with plinth-node's default capacity settings. Every
// spec must pass or be skipped for a capability the driver does not
// advertise.
func TestStockCSISanityPasses(t *testing.T) {
	testpool.RequireNodeTools(t)
	binary := csiSanityBinary(t)
	kubelet := t.TempDir()
	endpoint := serveNodePlugin(t, kubelet)
	for _, dir := range []string{"pods", "plugins"} {
		if err := os.Mkdir(filepath.Join(kubelet, dir), 0o750); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithTimeout(t.Context(), suiteTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, binary,
		"--csi.endpoint="+endpoint,
		"--csi.mountdir="+filepath.Join(kubelet, "pods", "target"),
		"--csi.stagingdir="+filepath.Join(kubelet, "plugins", "staging"))
	out, err := cmd.CombinedOutput()
	summary := summarize(string(out))
	t.Logf("%s (%s): %s", filepath.Base(binary), endpoint, summary)
	if err != nil || !strings.Contains(summary, " 0 Failed") {
		t.Fatalf("csi-sanity failed: %v\n%s", err, out)
	}
}

// summaryLine matches Ginkgo's closing counts, e.g.
// "Ran 76 of 91 Specs" and "SUCCESS! -- 76 Passed | 0 Failed | 0 Pending | 15 Skipped".
var summaryLine = regexp.MustCompile(`^(Ran \d+ of \d+ Specs|(SUCCESS|FAIL)! -- .*)`)

// ansiEscape matches the colour codes of Ginkgo's output.
var ansiEscape = regexp.MustCompile("\x1b\\[[0-9;]*m")

func summarize(out string) string {
	var parts []string
	sc := bufio.NewScanner(strings.NewReader(ansiEscape.ReplaceAllString(out, "")))
	for sc.Scan() {
		if line := strings.TrimSpace(sc.Text()); summaryLine.MatchString(line) {
			parts = append(parts, line)
		}
	}
	if len(parts) == 0 {
		return "no summary"
	}
	return strings.Join(parts, "; ")
}

// serveNodePlugin serves Plinth's node plugin, as plinth-node configures it
// by default, on a fresh XFS pool until the test ends and returns its
// endpoint.
func serveNodePlugin(t *testing.T, kubeletDir string) string {
	t.Helper()
	sockDir, err := os.MkdirTemp("", "plinth-sanity-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(sockDir) })
	endpoint := "unix://" + filepath.Join(sockDir, "csi.sock")
	cfg := plugin.Config{
		DriverName: wellknown.DriverName,
		Version:    "sanity",
		NodeName:   "sanity-node",
		Endpoint:   endpoint,
		PoolDir:    filepath.Join(testpool.Mount(t, testpool.XFS, poolSize), "pool"),
		// plinth-node's and the chart's defaults; the reserve does not apply
		// to a pool on a filesystem of its own.
		OverProvisionRatio:      1,
		PoolReserveBytes:        2 << 30,
		PoolReservePercent:      15,
		DefaultFSType:           "ext4",
		KubeletDir:              kubeletDir,
		EphemeralMaxVolumeBytes: 1 << 30,
		EphemeralMaxTotalBytes:  4 << 30,
		MetricsAddress:          "0",
		Logger:                  testr.NewWithOptions(t, testr.Options{Verbosity: 0}),
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- plugin.Run(ctx, cfg) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("node plugin: %v", err)
		}
	})
	waitForProbe(t, endpoint, done)
	return endpoint
}

// waitForProbe polls the plugin's Probe until it answers, the plugin
// exits, or a deadline passes.
func waitForProbe(t *testing.T, endpoint string, done <-chan error) {
	t.Helper()
	conn, err := csiconn.Dial(endpoint)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = conn.Close() }()
	deadline := time.Now().Add(time.Minute)
	for {
		ctx, cancel := context.WithTimeout(t.Context(), time.Second)
		_, err := conn.Identity.Probe(ctx, &csi.ProbeRequest{})
		cancel()
		if err == nil {
			return
		}
		select {
		case err := <-done:
			t.Fatalf("node plugin exited: %v", err)
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("node plugin did not answer Probe: %v", err)
		}
	}
}

// csiSanityBinary returns bin/csi-sanity-<version> for the csi-test version
// go.mod requires, which must be the one hack/versions.mk pins, building it
// when missing as `make csi-sanity` does.
func csiSanityBinary(t *testing.T) string {
	t.Helper()
	root := repoRoot(t)
	version := requiredVersion(t, root)
	pinned := pinnedVersion(t, root)
	if version != pinned {
		t.Fatalf("go.mod requires %s %s, hack/versions.mk pins CSI_SANITY_VERSION %s: make them agree", csiTestModule, version, pinned)
	}
	binary := filepath.Join(root, "bin", "csi-sanity-"+version)
	if _, err := os.Stat(binary); err == nil {
		return binary
	}
	build := exec.Command("go", "build", "-o", binary, "-ldflags", "-X main.VERSION="+version, csiTestModule+"/cmd/csi-sanity")
	build.Dir = root
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("failed to build csi-sanity: %v\n%s", err, out)
	}
	return binary
}

func repoRoot(t *testing.T) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("failed to find the repository root (go.mod)")
		}
		dir = parent
	}
}

// requiredVersion reads the csi-test version from go.mod.
func requiredVersion(t *testing.T, root string) string {
	t.Helper()
	v, err := fieldAfter(filepath.Join(root, "go.mod"), csiTestModule+" ")
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// pinnedVersion reads CSI_SANITY_VERSION from hack/versions.mk.
func pinnedVersion(t *testing.T, root string) string {
	t.Helper()
	v, err := fieldAfter(filepath.Join(root, "hack", "versions.mk"), "CSI_SANITY_VERSION ?= ")
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// fieldAfter returns the first word after prefix on the first line of file
// that starts with prefix, ignoring leading white space.
func fieldAfter(file, prefix string) (string, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return "", err
	}
	for _, line := range strings.Split(string(data), "\n") {
		if rest, ok := strings.CutPrefix(strings.TrimSpace(line), prefix); ok {
			if f := strings.Fields(rest); len(f) > 0 {
				return f[0], nil
			}
		}
	}
	return "", fmt.Errorf("%s has no line starting with %q", file, prefix)
}
