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

// Package pooltest plays, for tests, a plinth-node that ran in a container
// and has since restarted: volumes of a pool attached, and mounted, from
// another mount namespace, in which the pool directory had another path.
// Everything here needs root, losetup, mount and mkfs.ext4; the helpers skip
// the test without them, or fail it under CI.
package pooltest

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
	"k8s.io/apimachinery/pkg/util/wait"

	"github.com/plinth-dev/plinth/csi-driver/backend"
	"github.com/plinth-dev/plinth/test/testpool"
)

// cleanupTimeout bounds the wait for the kernel to detach a test's devices.
const cleanupTimeout = 10 * time.Second

// attachScript bind-mounts the pool directory $1 at $2 and attaches the
// volume $3 through that path, with losetup as plinth-node once did.
const attachScript = `set -eu
mount --bind "$1" "$2"
device=$(losetup --find --show "$2/volumes/$3.img")
`

// mountScript then formats the device, mounts it at $4, prints the device
// and holds the mount namespace until its standard input closes.
const mountScript = attachScript + `mkfs.ext4 -q "$device" >&2
mount "$device" "$4"
echo "$device"
read -r _ || true
`

// VolumeFile returns the path of volume id's data file in the pool at poolDir.
func VolumeFile(poolDir string, id backend.VolumeID) string {
	return filepath.Join(poolDir, "volumes", string(id)+".img")
}

// Attached is a volume's file attached from another mount namespace.
type Attached struct {
	// Device is the loop device the helper attached.
	Device string
	// File is the volume's data file.
	File string
	id   fileID
}

// Devices returns the loop devices backed by the volume's file, by losetup's
// account of their backing files' device and inode numbers. It finds them
// also after the file was deleted.
func (a Attached) Devices(tb testing.TB) []string {
	tb.Helper()
	return devices(tb, a.id)
}

// AttachElsewhere attaches volume id of the pool at poolDir from a helper
// process in a private mount namespace, where the pool directory is
// bind-mounted at another path. The namespace ends with the helper, after
// which the kernel reports the backing file's path relative to the pool
// directory. When the test ends, every loop device still backed by the
// volume's file is detached.
func AttachElsewhere(tb testing.TB, poolDir string, id backend.VolumeID) Attached {
	tb.Helper()
	a := prepare(tb, poolDir, id)
	cmd := inPrivateMountNamespace(attachScript+`echo "$device"`, poolDir, tb.TempDir(), string(id))
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		tb.Fatalf("failed to attach volume %s from another mount namespace: %v: %s", id, err, stderr.String())
	}
	a.Device = strings.TrimSpace(string(out))
	return a
}

// MountElsewhere attaches volume id as AttachElsewhere does, formats it with
// ext4 and mounts it in the helper's mount namespace, which lives until the
// test ends: a mount that no other mount namespace sees.
func MountElsewhere(tb testing.TB, poolDir string, id backend.VolumeID) Attached {
	tb.Helper()
	a := prepare(tb, poolDir, id)
	cmd := inPrivateMountNamespace(mountScript, poolDir, tb.TempDir(), string(id), tb.TempDir())
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		tb.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		tb.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		tb.Fatalf("failed to start the mount helper: %v", err)
	}
	stop := sync.OnceValue(func() error { _ = stdin.Close(); return cmd.Wait() })
	tb.Cleanup(func() {
		if err := stop(); err != nil {
			tb.Errorf("mount helper of volume %s: %v: %s", id, err, stderr.String())
		}
	})
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		tb.Fatalf("failed to mount volume %s in another mount namespace: %v, %v: %s", id, err, stop(), stderr.String())
	}
	a.Device = strings.TrimSpace(line)
	return a
}

// prepare checks the prerequisites, identifies the volume's file and
// detaches its devices when the test ends.
func prepare(tb testing.TB, poolDir string, id backend.VolumeID) Attached {
	tb.Helper()
	testpool.RequireNodeTools(tb)
	a := Attached{File: VolumeFile(poolDir, id)}
	a.id = statID(tb, a.File)
	tb.Cleanup(func() { detachAll(tb, a) })
	return a
}

// inPrivateMountNamespace returns a command running script with args in a
// new mount namespace, where Go makes every mount private, so nothing the
// script mounts is seen outside.
func inPrivateMountNamespace(script string, args ...string) *exec.Cmd {
	cmd := exec.Command("sh", append([]string{"-c", script, "sh"}, args...)...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Unshareflags: syscall.CLONE_NEWNS}
	return cmd
}

// fileID is a file's device as major:minor, and its inode number.
type fileID struct {
	majMin string
	ino    uint64
}

func statID(tb testing.TB, file string) fileID {
	tb.Helper()
	var st unix.Stat_t
	if err := unix.Stat(file, &st); err != nil {
		tb.Fatal(err)
	}
	return fileID{majMin: fmt.Sprintf("%d:%d", unix.Major(st.Dev), unix.Minor(st.Dev)), ino: st.Ino}
}

func devices(tb testing.TB, id fileID) []string {
	tb.Helper()
	out, err := exec.Command("losetup", "--list", "--json", "--output", "NAME,BACK-MAJ:MIN,BACK-INO").Output()
	if err != nil {
		tb.Fatalf("failed to list loop devices: %v", err)
	}
	if len(bytes.TrimSpace(out)) == 0 {
		return nil
	}
	var list struct {
		Devices []struct {
			Name   string `json:"name"`
			MajMin string `json:"back-maj:min"`
			Ino    uint64 `json:"back-ino"`
		} `json:"loopdevices"`
	}
	if err := json.Unmarshal(out, &list); err != nil {
		tb.Fatalf("failed to parse losetup's list: %v: %s", err, out)
	}
	names := make([]string, 0, len(list.Devices))
	for _, d := range list.Devices {
		if strings.TrimSpace(d.MajMin) == id.majMin && d.Ino == id.ino {
			names = append(names, d.Name)
		}
	}
	return names
}

// detachAll detaches every loop device still backed by the volume's file.
func detachAll(tb testing.TB, a Attached) {
	for _, device := range a.Devices(tb) {
		if out, err := exec.Command("losetup", "--detach", device).CombinedOutput(); err != nil {
			tb.Errorf("failed to detach %s: %v: %s", device, err, out)
		}
	}
	err := wait.PollUntilContextTimeout(context.Background(), 20*time.Millisecond, cleanupTimeout, true, func(context.Context) (bool, error) {
		return len(a.Devices(tb)) == 0, nil
	})
	if err != nil {
		tb.Errorf("loop devices of %s still attached after the test: %v", a.File, a.Devices(tb))
	}
}
