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

package agent_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/plinth-dev/plinth/cni-plugin/agent"
)

func writeBinary(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o755); err != nil {
		t.Fatal(err)
	}
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

func TestInstallLoopbackInstallsOnlyWhereNoneIs(t *testing.T) {
	image := filepath.Join(t.TempDir(), "loopback")
	writeBinary(t, image, "plinth's loopback")
	tests := []struct {
		name          string
		hostLoopback  string // "" when the host has none
		wantInstalled bool
		wantAfter     string // content after RemoveLoopback, "" for removed
		wantLeft      int    // entries of the bin dir after RemoveLoopback
	}{
		{"empty bin dir", "", true, "", 0},
		{"host has one", "host's loopback", false, "host's loopback", 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			binDir := filepath.Join(t.TempDir(), "bin")
			dst := filepath.Join(binDir, "loopback")
			if tt.hostLoopback != "" {
				writeBinary(t, dst, tt.hostLoopback)
			}
			installed, err := agent.InstallLoopback(image, binDir)
			if err != nil || installed != tt.wantInstalled {
				t.Fatalf("InstallLoopback = %v, %v; want %v", installed, err, tt.wantInstalled)
			}
			if info, err := os.Stat(dst); err != nil || info.Mode().Perm() != 0o755 {
				t.Fatalf("no executable loopback after install: %v %v", info, err)
			}
			if again, err := agent.InstallLoopback(image, binDir); err != nil || again {
				t.Errorf("second InstallLoopback = %v, %v; want it to keep the first", again, err)
			}
			if err := agent.RemoveLoopback(binDir); err != nil {
				t.Fatal(err)
			}
			assertContent(t, dst, tt.wantAfter)
			if entries, _ := os.ReadDir(binDir); len(entries) != tt.wantLeft {
				t.Errorf("bin dir after removal holds %v, want %d entries", entries, tt.wantLeft)
			}
		})
	}
}

// A loopback that another CNI put in place of Plinth's after it installed
// one is someone else's now: cleanup leaves it.
func TestRemoveLoopbackKeepsAReplacedCopy(t *testing.T) {
	image := filepath.Join(t.TempDir(), "loopback")
	writeBinary(t, image, "plinth's loopback")
	binDir := t.TempDir()
	if _, err := agent.InstallLoopback(image, binDir); err != nil {
		t.Fatal(err)
	}
	writeBinary(t, filepath.Join(binDir, "loopback"), "newer loopback from another CNI")
	if err := agent.RemoveLoopback(binDir); err != nil {
		t.Fatal(err)
	}
	assertContent(t, filepath.Join(binDir, "loopback"), "newer loopback from another CNI")
}

func assertContent(t *testing.T, path, want string) {
	t.Helper()
	if want == "" {
		if _, err := os.Stat(path); !os.IsNotExist(err) {
			t.Errorf("%s not removed: %v", path, err)
		}
		return
	}
	if got := readFile(t, path); got != want {
		t.Errorf("%s holds %q, want %q", path, got, want)
	}
}
