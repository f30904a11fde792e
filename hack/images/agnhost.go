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
	"bufio"
	_ "embed" // agnhost-packages.txt
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// agnhostPkg is the upstream e2e test server, built in e2eModule.
const agnhostPkg = "k8s.io/kubernetes/test/images/agnhost"

// agnhostPackagesTxt is agnhost-packages.txt, the Debian packages of the
// agnhost image.
//
//go:embed agnhost-packages.txt
var agnhostPackagesTxt string

// The users of the agnhost image. As upstream's, it has a user 1000 in a
// group 50000 for the tests of supplemental groups defined in an image.
const (
	//nolint:gosec // G101: a passwd file, which holds no password.
	agnhostPasswd = "root:x:0:0:root:/root:/bin/sh\n" +
		"nonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n" +
		"user-defined-in-image:x:1000:1000::/home/user-defined-in-image:/bin/sh\n"
	agnhostGroup = "root:x:0:\nnonroot:x:65532:\nuser-defined-in-image:x:1000:\n" +
		"group-defined-in-image:x:50000:user-defined-in-image\n"
)

// addAgnhostFiles writes what upstream's Dockerfile adds beside /agnhost,
// and the links that Debian's maintainer scripts would make
// (update-alternatives), which never run here.
func addAgnhostFiles(w *layerWriter) error {
	steps := []func() error{
		// The entrypoint-tester tests run the binary under a second name.
		func() error { return w.symlink("agnhost-2", "agnhost") },
		// netexec's upload directory.
		func() error { return w.dir("uploads", 0o755, 0) },
		func() error { return w.symlink("usr/bin/nc", "nc.openbsd") },
		func() error { return w.symlink("usr/bin/awk", "mawk") },
		func() error { return w.file("etc/passwd", 0o644, agnhostPasswd) },
		func() error { return w.file("etc/group", 0o644, agnhostGroup) },
		func() error { return w.dir("home/user-defined-in-image", 0o755, 1000) },
	}
	for _, step := range steps {
		if err := step(); err != nil {
			return err
		}
	}
	return nil
}

// checkModuleVersion fails unless module's go.mod requires the
// KUBERNETES_VERSION that hack/versions.mk pins: hack/build-e2e.sh moves it
// there, and the agnhost image must match the e2e.test that runs it.
func checkModuleVersion(root, module string) error {
	want, err := pin(root, "KUBERNETES_VERSION")
	if err != nil {
		return err
	}
	f, err := os.Open(filepath.Join(root, module, "go.mod"))
	if err != nil {
		return fmt.Errorf("failed to read the go.mod of %s: %w", module, err)
	}
	defer func() { _ = f.Close() }()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if fs := strings.Fields(sc.Text()); len(fs) >= 2 && fs[0] == "k8s.io/kubernetes" && strings.HasPrefix(fs[1], "v") {
			if fs[1] != want {
				return fmt.Errorf("%s requires k8s.io/kubernetes %s, hack/versions.mk pins %s: run hack/build-e2e.sh", module, fs[1], want)
			}
			return nil
		}
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("failed to read the go.mod of %s: %w", module, err)
	}
	return fmt.Errorf("%s/go.mod requires no k8s.io/kubernetes: run hack/build-e2e.sh", module)
}
