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

package hostmount

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"

	"golang.org/x/sys/unix"
	mount "k8s.io/mount-utils"
)

// DefaultHostMountNS is the host's mount namespace as the init container
// sees it, with the host's /proc mounted at /host/proc.
const DefaultHostMountNS = "/host/proc/1/ns/mnt"

// marker is the file, next to dir, that says EnsureShared bind-mounted dir
// onto itself, so that Release undoes only what Plinth did. It lives on the
// host's filesystem with the directory: a per-node path even where nodes
// share a machine's /run.
func marker(dir string) string {
	return filepath.Join(filepath.Dir(dir), "."+filepath.Base(dir)+".plinth-bind")
}

// Result says what EnsureShared found and did.
type Result struct {
	// MountPoint is the mount that holds the directory.
	MountPoint string
	// Bound is true when the directory was bind-mounted onto itself.
	Bound bool
	// MadeShared is true when the mount's propagation was changed.
	MadeShared bool
}

// EnsureShared makes dir, in the mount namespace at hostMountNS, a shared
// mount (creating the directory if needed).
func EnsureShared(hostMountNS, dir string) (Result, error) {
	if !filepath.IsAbs(dir) || filepath.Clean(dir) != dir {
		return Result{}, fmt.Errorf("pool directory %q must be an absolute, clean path", dir)
	}
	type outcome struct {
		res Result
		err error
	}
	done := make(chan outcome, 1)
	go func() {
		// Locked and never unlocked: the thread leaves the process's mount
		// namespace and must end with this goroutine.
		runtime.LockOSThread()
		res, err := inMountNS(hostMountNS, func() (Result, error) { return ensureShared(dir) })
		done <- outcome{res, err}
	}()
	o := <-done
	return o.res, o.err
}

// inMountNS runs fn on the calling (locked) thread after moving it into the
// mount namespace at path.
func inMountNS(path string, fn func() (Result, error)) (Result, error) {
	f, err := os.Open(path)
	if err != nil {
		return Result{}, fmt.Errorf("failed to open the host's mount namespace %s (is the host's /proc mounted?): %w", path, err)
	}
	defer func() { _ = f.Close() }()
	if err := unix.Unshare(unix.CLONE_FS); err != nil {
		return Result{}, fmt.Errorf("failed to unshare filesystem attributes: %w", err)
	}
	if err := unix.Setns(int(f.Fd()), unix.CLONE_NEWNS); err != nil {
		return Result{}, fmt.Errorf("failed to enter the host's mount namespace: %w", err)
	}
	return fn()
}

// ensureShared runs in the host's mount namespace.
func ensureShared(dir string) (Result, error) {
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return Result{}, fmt.Errorf("failed to create %s: %w", dir, err)
	}
	m, err := holdingMount(dir)
	if err != nil {
		return Result{}, err
	}
	res := Result{MountPoint: m.MountPoint}
	if shared(m) {
		return res, nil
	}
	if m.MountPoint != dir {
		// The marker first: a crash in between leaves a marker and no
		// mount, which Release tolerates, never a mount nobody owns.
		if err := os.WriteFile(marker(dir), nil, 0o600); err != nil {
			return res, fmt.Errorf("failed to record the bind mount in %s: %w", marker(dir), err)
		}
		if err := unix.Mount(dir, dir, "", unix.MS_BIND, ""); err != nil {
			return res, fmt.Errorf("failed to bind-mount %s onto itself: %w", dir, err)
		}
		res.Bound, res.MountPoint = true, dir
	}
	if err := unix.Mount("", dir, "", unix.MS_SHARED, ""); err != nil {
		return res, fmt.Errorf("failed to make %s a shared mount: %w", dir, err)
	}
	res.MadeShared = true
	return res, nil
}

// holdingMount returns the mount that dir lives on: the last-mounted one
// with the longest mount point that is dir or a parent of it.
func holdingMount(dir string) (mount.MountInfo, error) {
	// thread-self: this thread alone is in the host's mount namespace.
	infos, err := mount.ParseMountInfo("/proc/thread-self/mountinfo")
	if err != nil {
		return mount.MountInfo{}, fmt.Errorf("failed to read the host's mounts: %w", err)
	}
	var best mount.MountInfo
	for _, m := range infos {
		if contains(m.MountPoint, dir) && len(m.MountPoint) >= len(best.MountPoint) {
			best = m
		}
	}
	if best.MountPoint == "" {
		return best, fmt.Errorf("no mount holds %s", dir)
	}
	return best, nil
}

func contains(mountPoint, dir string) bool {
	return mountPoint == "/" || dir == mountPoint || strings.HasPrefix(dir, mountPoint+"/")
}

func shared(m mount.MountInfo) bool {
	return slices.ContainsFunc(m.OptionalFields, func(f string) bool { return strings.HasPrefix(f, "shared:") })
}

// Release undoes EnsureShared for Plinth's removal from the node: it
// unmounts the bind mount EnsureShared made of dir (never a mount someone
// else made) and removes dir, and its parent if that is named "plinth",
// when they are empty. It reports whether dir is gone.
func Release(hostMountNS, dir string) (bool, error) {
	type outcome struct {
		gone bool
		err  error
	}
	done := make(chan outcome, 1)
	go func() {
		runtime.LockOSThread() // never unlocked, as in EnsureShared
		var gone bool
		_, err := inMountNS(hostMountNS, func() (Result, error) {
			var err error
			gone, err = release(dir)
			return Result{}, err
		})
		done <- outcome{gone, err}
	}()
	o := <-done
	return o.gone, o.err
}

// release runs in the host's mount namespace.
func release(dir string) (bool, error) {
	if _, err := os.Stat(marker(dir)); err == nil {
		// After a reboot the marker outlives the mount it names.
		if m, err := holdingMount(dir); err == nil && m.MountPoint == dir {
			if err := unix.Unmount(dir, 0); err != nil {
				return false, fmt.Errorf("failed to unmount the bind mount of %s: %w", dir, err)
			}
		}
		if err := os.Remove(marker(dir)); err != nil {
			return false, fmt.Errorf("failed to remove %s: %w", marker(dir), err)
		}
	}
	if err := os.Remove(dir); err != nil {
		return false, nil //nolint:nilerr // not empty, or a mount point: not ours to remove
	}
	if parent := filepath.Dir(dir); filepath.Base(parent) == "plinth" {
		_ = os.Remove(parent) // only if empty
	}
	return true, nil
}

// RemoveEmpty removes each directory that is empty, in the host's mount
// namespace: the host paths the kubelet created for Plinth's volumes, whose
// mount points inside the container cannot be removed from there.
func RemoveEmpty(hostMountNS string, dirs ...string) error {
	done := make(chan error, 1)
	go func() {
		runtime.LockOSThread() // never unlocked, as in EnsureShared
		_, err := inMountNS(hostMountNS, func() (Result, error) {
			for _, d := range dirs {
				if !filepath.IsAbs(d) || filepath.Clean(d) != d {
					return Result{}, fmt.Errorf("directory %q must be an absolute, clean path", d)
				}
				if err := os.Remove(d); err != nil && !errors.Is(err, fs.ErrNotExist) && !errors.Is(err, unix.ENOTEMPTY) && !errors.Is(err, unix.EBUSY) {
					return Result{}, fmt.Errorf("failed to remove %s: %w", d, err)
				}
			}
			return Result{}, nil
		})
		done <- err
	}()
	return <-done
}
