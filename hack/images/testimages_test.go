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
	"archive/tar"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// wantApplets are the busybox applets that test pods use: shells and file tools,
// data checks (dd, sha256sum) and network checks (nc, wget, ip, ping).
var wantApplets = []string{"sh", "ls", "cat", "echo", "sleep", "dd", "md5sum", "sha256sum", "nc", "wget",
	"ip", "ifconfig", "ping", "mount", "df", "stat", "mkdir", "rm", "touch", "head", "tail", "grep", "sed",
	"awk", "test", "true", "false", "id", "hostname", "env", "seq", "sync"}

func testPauseFiles(t *testing.T, img v1.Image) {
	fs := entries(t, img)
	if h := fs["pause"]; h == nil || h.Typeflag != tar.TypeReg || h.Mode&0o111 == 0 {
		t.Errorf("the pause image has no executable /pause: %+v", h)
	}
	if len(fs) != 1 {
		t.Errorf("the pause image holds more than /pause: %d entries", len(fs))
	}
}

// testPauseStops starts /pause of the image and stops it with SIGTERM.
func testPauseStops(t *testing.T, img v1.Image) {
	root := t.TempDir()
	extract(t, img, root)
	cmd := exec.Command(filepath.Join(root, "pause"))
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(200 * time.Millisecond) // let it install its signal handlers
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("pause did not exit 0 on SIGTERM: %v", err)
		}
	case <-time.After(10 * time.Second):
		_ = cmd.Process.Kill()
		t.Error("pause did not stop on SIGTERM")
	}
}

func testBusyboxFiles(t *testing.T, img v1.Image) {
	fs := entries(t, img)
	if h := fs["bin/busybox"]; h == nil || h.Typeflag != tar.TypeReg || h.Mode != 0o755 {
		t.Fatalf("the busybox image has no /bin/busybox: %+v", h)
	}
	for _, a := range wantApplets {
		if h := fs["bin/"+a]; h == nil || h.Typeflag != tar.TypeSymlink || h.Linkname != "busybox" {
			t.Errorf("/bin/%s is not a link to busybox: %+v", a, h)
		}
	}
	if h := fs["tmp"]; h == nil || h.Mode != 0o1777 {
		t.Errorf("the busybox image has no /tmp with mode 1777: %+v", h)
	}
	wantFiles(t, fs, "etc/passwd", "etc/group", "var/lib/dpkg/status.d/busybox-static")
}

// testBusyboxRuns runs, in a chroot of the image, what test pods run.
func testBusyboxRuns(t *testing.T, img v1.Image) {
	needRoot(t)
	root := t.TempDir()
	extract(t, img, root)
	script := `set -e
dd if=/bin/busybox of=/tmp/data bs=4k count=16 2>/tmp/dd.log
sha256sum /tmp/data | awk '{print $1}' > /tmp/sum
test "$(stat -c %s /tmp/data)" = 65536
seq 3 | tail -n 1
nc --help 2>&1 | head -n 1 | grep -qi busybox
echo ok`
	out, code := inChroot(t, root, 0, "/bin/sh", "-c", script)
	if code != 0 || !strings.HasSuffix(strings.TrimSpace(out), "3\nok") {
		t.Errorf("the busybox script exited %d:\n%s", code, out)
	}
	sum, err := os.ReadFile(filepath.Join(root, "tmp", "sum"))
	if err != nil || len(strings.TrimSpace(string(sum))) != 64 {
		t.Errorf("sha256sum wrote %q (%v)", sum, err)
	}
}
