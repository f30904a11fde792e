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
	"slices"
	"testing"
)

// fakeRoot is a repository root whose hack/versions.mk holds data.
func fakeRoot(t *testing.T, data string) string {
	t.Helper()
	root := t.TempDir()
	if err := os.MkdirAll(filepath.Join(root, "hack"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, "hack", "versions.mk"), []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
	return root
}

func TestPinReadsVersionsMkUnlessTheEnvironmentSetsIt(t *testing.T) {
	root := fakeRoot(t, "# comment\nTEST_PIN_A ?= a:1 b:2\nTEST_PIN_B ?= x\n")
	if v, err := pin(root, "TEST_PIN_A"); err != nil || v != "a:1 b:2" {
		t.Errorf("TEST_PIN_A = %q, %v", v, err)
	}
	t.Setenv("TEST_PIN_B", "from-env")
	if v, err := pin(root, "TEST_PIN_B"); err != nil || v != "from-env" {
		t.Errorf("TEST_PIN_B = %q, %v", v, err)
	}
	if _, err := pin(root, "TEST_PIN_C"); err == nil {
		t.Error("an unset pin was found")
	}
}

func TestTestImagesTakeTheirNamesFromThePins(t *testing.T) {
	root := fakeRoot(t, "PAUSE_IMAGES ?= registry.k8s.io/pause:3.10.1 registry.k8s.io/pause:3.10.2\n")
	o := &options{root: root, registry: "example.test/plinth", tag: "v1"}
	for _, tc := range []struct {
		image string
		want  []string
	}{
		{"pause", []string{"registry.k8s.io/pause:3.10.1", "registry.k8s.io/pause:3.10.2"}},
		{"plinth-node", []string{"example.test/plinth/plinth-node:v1"}},
	} {
		s, err := selectSpecs([]string{tc.image})
		if err != nil {
			t.Fatal(err)
		}
		refs, err := imageRefs(o, s[0])
		if err != nil {
			t.Fatal(err)
		}
		got := make([]string, len(refs))
		for i, r := range refs {
			got[i] = r.String()
		}
		if !slices.Equal(got, tc.want) {
			t.Errorf("%s: got names %q, want %q", tc.image, got, tc.want)
		}
	}
}

func TestBinariesAreCmdNamesOrPackagePaths(t *testing.T) {
	for _, tc := range []struct{ in, pkg, bin string }{
		{"plinth-node", "./cmd/plinth-node", "plinth-node"},
		{"./test/images/pause", "./test/images/pause", "pause"},
		{loopbackPkg, loopbackPkg, "loopback"},
	} {
		if got := pkgPath(tc.in); got != tc.pkg {
			t.Errorf("pkgPath(%q) = %q, want %q", tc.in, got, tc.pkg)
		}
		if got := binaryName(tc.in); got != tc.bin {
			t.Errorf("binaryName(%q) = %q, want %q", tc.in, got, tc.bin)
		}
	}
}

func TestDefaultImagesAreThePlinthImages(t *testing.T) {
	if got, want := imageNames(false), []string{"plinth-controller", "plinth-node"}; !slices.Equal(got, want) {
		t.Errorf("got %q, want %q", got, want)
	}
	if _, err := selectSpecs([]string{"pause", "busybox"}); err != nil {
		t.Error(err)
	}
	if _, err := selectSpecs([]string{"nginx"}); err == nil {
		t.Error("an unknown image was selected")
	}
}
