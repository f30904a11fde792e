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
	"errors"
	"fmt"
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
// The Go runtime catches SIGTERM before main runs, so nothing outside the
// process tells when pause's own handler is in place: a signal that comes
// before it kills the process instead. Each try therefore waits longer
// before the signal, and one clean exit within the deadline passes.
func testPauseStops(t *testing.T, img v1.Image) {
	root := t.TempDir()
	extract(t, img, root)
	var last error
	for delay := time.Millisecond; delay < 5*time.Second; delay *= 2 {
		if last = pauseStopsAfter(filepath.Join(root, "pause"), delay); last == nil {
			return
		}
	}
	t.Errorf("pause did not exit 0 on SIGTERM: %v", last)
}

// pauseStopsAfter runs pause, sends SIGTERM after delay and returns how it
// ended: nil for exit status 0.
func pauseStopsAfter(path string, delay time.Duration) error {
	cmd := exec.Command(path)
	if err := cmd.Start(); err != nil {
		return err
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		return fmt.Errorf("pause ended by itself: %w", err)
	case <-time.After(delay):
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		return err
	}
	select {
	case err := <-done:
		return err
	case <-time.After(10 * time.Second):
		_ = cmd.Process.Kill()
		<-done
		return errors.New("pause did not stop within 10s of SIGTERM")
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

// testAgnhostFiles checks what upstream's agnhost image holds beside the
// binary: the second name, the upload directory, the image-defined users.
func testAgnhostFiles(t *testing.T, img v1.Image) {
	fs := entries(t, img)
	if h := fs["agnhost"]; h == nil || h.Typeflag != tar.TypeReg || h.Mode&0o111 == 0 {
		t.Errorf("the agnhost image has no executable /agnhost: %+v", h)
	}
	if h := fs["agnhost-2"]; h == nil || h.Typeflag != tar.TypeSymlink || h.Linkname != "agnhost" {
		t.Errorf("/agnhost-2 is not a link to agnhost: %+v", h)
	}
	wantFiles(t, fs, "uploads", "etc/passwd", "etc/group", "home/user-defined-in-image",
		"usr/bin/bash", "usr/bin/curl", "usr/bin/nc", "usr/bin/awk", "usr/bin/ip")
}

// testAgnhostRuns runs, in a chroot of the image, agnhost and the tools
// that the upstream suites run in its pods.
func testAgnhostRuns(t *testing.T, img v1.Image) {
	needRoot(t)
	root := t.TempDir()
	extract(t, img, root)
	out, code := inChroot(t, root, 0, "/agnhost", "--help")
	if code != 0 || !strings.Contains(out, "netexec") {
		t.Errorf("/agnhost --help exited %d without listing netexec:\n%s", code, out)
	}
	script := `set -e
curl --version | head -n 1
nc -h 2>&1 | head -n 1
ip -V
echo a b | awk '{print $2}'
id -u user-defined-in-image
id -G user-defined-in-image
echo ok`
	out, code = inChroot(t, root, 0, "/bin/bash", "-c", script)
	if code != 0 || !strings.HasSuffix(strings.TrimSpace(out), "b\n1000\n1000 50000\nok") {
		t.Errorf("the agnhost tool script exited %d:\n%s", code, out)
	}
}
