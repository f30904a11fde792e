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
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestFindBinDirNamesTheMissingBinaryAndTheFix(t *testing.T) {
	dir := t.TempDir()
	for _, name := range Binaries[:2] {
		if err := os.WriteFile(filepath.Join(dir, name), nil, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	_, err := FindBinDir(dir)
	if err == nil {
		t.Fatal("FindBinDir succeeded with binaries missing")
	}
	for _, want := range []string{Binaries[2], "make k8s-bins"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}
}

func TestFindBinDirAcceptsACompleteDirectory(t *testing.T) {
	dir := t.TempDir()
	for _, name := range Binaries {
		if err := os.WriteFile(filepath.Join(dir, name), nil, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	got, err := FindBinDir(dir)
	if err != nil || got != dir {
		t.Fatalf("FindBinDir(%q) = %q, %v", dir, got, err)
	}
}

func TestTailKeepsTheLastLines(t *testing.T) {
	path := filepath.Join(t.TempDir(), "log")
	if err := os.WriteFile(path, []byte("1\n2\n3\n4\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if got := tail(path, 2); got != "3\n4" {
		t.Errorf("tail = %q, want %q", got, "3\n4")
	}
}
