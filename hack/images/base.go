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

// The users of both images: root, and distroless's nonroot for the
// controller. Go binaries need no more of /etc.
const (
	//nolint:gosec // G101: a passwd file, which holds no password.
	passwd = "root:x:0:0:root:/root:/sbin/nologin\nnonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n"
	group  = "root:x:0:\nnonroot:x:65532:\n"
)

// addBase writes the files every image starts from.
func addBase(w *layerWriter) error {
	steps := []func() error{
		func() error { return w.dir("etc", 0o755, 0) },
		func() error { return w.file("etc/passwd", 0o644, passwd) },
		func() error { return w.file("etc/group", 0o644, group) },
		func() error { return w.dir("home/nonroot", 0o700, nonRoot) },
		func() error { return w.dir("root", 0o700, 0) },
		func() error { return w.dir("tmp", 0o1777, 0) },
	}
	for _, step := range steps {
		if err := step(); err != nil {
			return err
		}
	}
	return nil
}
