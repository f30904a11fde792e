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
	"os"
	"path/filepath"
	"testing"
)

func TestInstallCNIInstallsLoopbackWhereNoneIs(t *testing.T) {
	image := t.TempDir()
	for _, name := range []string{"plinth-cni", "loopback"} {
		if err := os.WriteFile(filepath.Join(image, name), []byte(name+" from the image"), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		name         string
		loopbackFlag string
		hostLoopback bool
		want         string // the bin dir's loopback afterwards, "" for none
	}{
		{"empty bin dir", filepath.Join(image, "loopback"), false, "loopback from the image"},
		{"host has a loopback", filepath.Join(image, "loopback"), true, "the host's"},
		{"disabled", "", false, ""},
		{"missing from the image", filepath.Join(image, "none"), false, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			binDir := t.TempDir()
			if tt.hostLoopback {
				if err := os.WriteFile(filepath.Join(binDir, "loopback"), []byte("the host's"), 0o755); err != nil {
					t.Fatal(err)
				}
			}
			args := []string{"--cni-plugin-binary", filepath.Join(image, "plinth-cni"), "--loopback-binary", tt.loopbackFlag, "--cni-bin-dir", binDir}
			if code := installCNI(args); code != 0 {
				t.Fatalf("install-cni exited %d", code)
			}
			if _, err := os.Stat(filepath.Join(binDir, "plinth-cni")); err != nil {
				t.Errorf("plinth-cni not installed: %v", err)
			}
			got, err := os.ReadFile(filepath.Join(binDir, "loopback"))
			if (tt.want == "") != os.IsNotExist(err) || (tt.want != "" && string(got) != tt.want) {
				t.Errorf("loopback in the bin dir: %q, %v; want %q", got, err, tt.want)
			}
		})
	}
}
