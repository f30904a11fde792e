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

package prereq

import (
	"fmt"
	"os"
	"os/exec"
	"testing"
)

// InCI reports whether the tests run under CI, where nothing may be skipped
// for lack of a prerequisite.
func InCI() bool {
	return os.Getenv("CI") == "true"
}

// Require fails (in CI) or skips (elsewhere) the test when ok is false,
// naming what is missing and how to provide it.
func Require(t testing.TB, ok bool, format string, args ...any) {
	t.Helper()
	if ok {
		return
	}
	msg := "missing prerequisite: " + fmt.Sprintf(format, args...)
	if InCI() {
		t.Fatal(msg)
	}
	t.Skip(msg)
}

// Root requires the test to run as root (loop devices, mounts, network
// namespaces).
func Root(t testing.TB) {
	t.Helper()
	Require(t, os.Geteuid() == 0, "root privileges (run `sudo make test`)")
}

// Commands requires every named command to be on PATH; hack/install-deps.sh
// installs them.
func Commands(t testing.TB, names ...string) {
	t.Helper()
	for _, name := range names {
		_, err := exec.LookPath(name)
		Require(t, err == nil, "command %q on PATH (run hack/install-deps.sh)", name)
	}
}
