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

package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestContainerfileMirrorsTheSpecs holds the Containerfile, the way to
// build the images with a container engine, against the specs here, the
// source of truth: every directory the binaries are built from is copied
// into its builder, the version is stamped where the binaries read it, and
// each Plinth image has the spec's user and entrypoint.
func TestContainerfileMirrorsTheSpecs(t *testing.T) {
	o := testOptions(t, t.TempDir())
	data, err := os.ReadFile(filepath.Join(o.root, "Containerfile"))
	if err != nil {
		t.Fatal(err)
	}
	cf := string(data)
	for _, dir := range sourceDirs(t, o.root) {
		if !strings.Contains(cf, fmt.Sprintf("COPY %s/ %s/", dir, dir)) {
			t.Errorf("the Containerfile's builder does not copy %s/, which the binaries import", dir)
		}
	}
	if !strings.Contains(cf, "-X github.com/plinth-dev/plinth/internal/version.Version=") {
		t.Error("the Containerfile does not stamp internal/version.Version")
	}
	for _, s := range specs {
		if s.namesPin != "" { // test images: not in the Containerfile
			continue
		}
		stage := stageOf(cf, strings.TrimPrefix(s.name, "plinth-"))
		want := []string{
			fmt.Sprintf("USER %d:%d", s.uid, s.uid),
			fmt.Sprintf("ENTRYPOINT [\"/%s/%s\"]", s.binDir, s.entrypoint),
		}
		for _, w := range want {
			if !strings.Contains(stage, w) {
				t.Errorf("stage %s of the Containerfile lacks %q", s.name, w)
			}
		}
	}
}

// sourceDirs lists the repository's top-level directories that hold the
// packages the Plinth binaries are built from.
func sourceDirs(t *testing.T, root string) []string {
	cmd := exec.Command("go", "list", "-deps", "-f", "{{if .Module}}{{if .Module.Main}}{{.Dir}}{{end}}{{end}}", "./cmd/...")
	cmd.Dir = root
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	abs, _ := filepath.Abs(root)
	seen := map[string]bool{}
	var dirs []string
	for _, d := range strings.Fields(string(out)) {
		rel, err := filepath.Rel(abs, d)
		if err != nil || rel == "." {
			continue
		}
		top := strings.Split(rel, string(filepath.Separator))[0]
		if !seen[top] {
			seen[top] = true
			dirs = append(dirs, top)
		}
	}
	return dirs
}

// stageOf returns the Containerfile's stage named name, up to the next FROM.
func stageOf(cf, name string) string {
	i := strings.Index(cf, " AS "+name+"\n")
	if i < 0 {
		return ""
	}
	rest := cf[i:]
	if j := strings.Index(rest, "\nFROM "); j >= 0 {
		rest = rest[:j]
	}
	return rest
}
