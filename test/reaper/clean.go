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

package reaper

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"
	"k8s.io/apimachinery/pkg/util/wait"
	mount "k8s.io/mount-utils"
)

// cleanTimeout bounds each wait for the kernel to release what a step freed
// (processes to exit, loop devices to detach).
const cleanTimeout = 30 * time.Second

// Sweep cleans the state files under root whose owners are gone.
func Sweep(root string) error {
	paths, err := filepath.Glob(filepath.Join(root, "*.json"))
	if err != nil {
		return fmt.Errorf("failed to list reaper states: %w", err)
	}
	var errs []error
	for _, path := range paths {
		s, err := load(path)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if s.Owner.PID != 0 && s.Owner.Alive() {
			continue
		}
		if err := Clean(s); err != nil {
			errs = append(errs, fmt.Errorf("failed to clean after process %d: %w", s.Owner.PID, err))
			continue
		}
		_ = os.Remove(path)
		_ = os.Remove(path + ".log")
	}
	return errors.Join(errs...)
}

// Clean releases everything s lists, in an order in which each step can
// succeed, and keeps going past errors.
func Clean(s State) error {
	// Detaching first marks busy loop devices for release on last close;
	// unmounting then closes them, and waitLoops sees them go.
	errs := []error{killProcesses(s), detachLoops(s), unmountAll(s)}
	loopsErr := waitLoops(s)
	errs = append(errs, loopsErr, removeNetns(s), removeCgroups(s))
	// The files still backing loop devices are how a later sweep finds
	// those devices: removing them would leak the devices for good.
	if loopsErr == nil {
		errs = append(errs, removeDirs(s))
	}
	return errors.Join(errs...)
}

// killProcesses kills the listed processes and every process inside the
// listed network namespaces, and waits until they are gone.
func killProcesses(s State) error {
	victims := slices.Clone(s.Processes)
	inNetns, err := processesInNetns(s.Netns)
	victims = append(victims, inNetns...)
	errs := make([]error, 0, len(victims)+2)
	errs = append(errs, err)
	for _, p := range victims {
		errs = append(errs, p.Kill())
	}
	errs = append(errs, pollUntil(func() bool {
		return !slices.ContainsFunc(victims, Process.Alive)
	}, "processes to exit"))
	return errors.Join(errs...)
}

// processesInNetns lists the processes whose network namespace is one of
// the named ones.
func processesInNetns(names []string) ([]Process, error) {
	inodes := map[uint64]bool{}
	for _, name := range names {
		var st unix.Stat_t
		if err := unix.Stat(netnsPath(name), &st); err == nil {
			inodes[st.Ino] = true
		}
	}
	if len(inodes) == 0 {
		return nil, nil
	}
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return nil, fmt.Errorf("failed to list processes: %w", err)
	}
	var out []Process
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		var st unix.Stat_t
		if unix.Stat("/proc/"+e.Name()+"/ns/net", &st) != nil || !inodes[st.Ino] {
			continue
		}
		if p, err := Lookup(pid); err == nil {
			out = append(out, p)
		}
	}
	return out, nil
}

func netnsPath(name string) string { return filepath.Join("/run/netns", name) }

// unmountAll unmounts the listed mounts and anything mounted below them or
// below the listed directories, deepest first.
func unmountAll(s State) error {
	points, err := mount.New("").List()
	if err != nil {
		return fmt.Errorf("failed to list mounts: %w", err)
	}
	roots := append(slices.Clone(s.Mounts), s.Dirs...)
	var paths []string
	for _, p := range points {
		if slices.ContainsFunc(roots, func(r string) bool { return p.Path == r || strings.HasPrefix(p.Path, r+"/") }) {
			paths = append(paths, p.Path)
		}
	}
	slices.SortFunc(paths, func(a, b string) int { return len(b) - len(a) })
	var errs []error
	for _, p := range paths {
		if err := unix.Unmount(p, 0); err != nil && !errors.Is(err, unix.EINVAL) && !errors.Is(err, unix.ENOENT) {
			// Busy: detach it now, the kernel finishes when the last user goes.
			if err := unix.Unmount(p, unix.MNT_DETACH); err != nil && !errors.Is(err, unix.EINVAL) {
				errs = append(errs, fmt.Errorf("failed to unmount %s: %w", p, err))
			}
		}
	}
	return errors.Join(errs...)
}

// removeNetns removes the named network namespaces.
func removeNetns(s State) error {
	var errs []error
	for _, name := range s.Netns {
		path := netnsPath(name)
		if err := unix.Unmount(path, unix.MNT_DETACH); err != nil && !errors.Is(err, unix.EINVAL) && !errors.Is(err, unix.ENOENT) {
			errs = append(errs, fmt.Errorf("failed to unmount %s: %w", path, err))
		}
		if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// removeCgroups removes each listed cgroup, children first, from every
// hierarchy mounted under /sys/fs/cgroup.
func removeCgroups(s State) error {
	if len(s.Cgroups) == 0 {
		return nil
	}
	hierarchies, err := filepath.Glob("/sys/fs/cgroup/*")
	if err != nil {
		return fmt.Errorf("failed to list cgroup hierarchies: %w", err)
	}
	hierarchies = append(hierarchies, "/sys/fs/cgroup") // cgroup v2
	var errs []error
	for _, h := range hierarchies {
		if fi, err := os.Stat(h); err != nil || !fi.IsDir() {
			continue // a cgroup v2 interface file
		}
		for _, rel := range s.Cgroups {
			errs = append(errs, removeCgroupTree(filepath.Join(h, rel)))
		}
	}
	return errors.Join(errs...)
}

func removeCgroupTree(dir string) error {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("failed to read cgroup %s: %w", dir, err)
	}
	var errs []error
	for _, e := range entries {
		if e.IsDir() {
			errs = append(errs, removeCgroupTree(filepath.Join(dir, e.Name())))
		}
	}
	if err := os.Remove(dir); err != nil && !errors.Is(err, os.ErrNotExist) {
		errs = append(errs, fmt.Errorf("failed to remove cgroup %s: %w", dir, err))
	}
	return errors.Join(errs...)
}

// removeDirs removes the listed directories (nothing is mounted below them
// any more) and the listed empty mount points.
func removeDirs(s State) error {
	var errs []error
	for _, d := range s.Dirs {
		if err := os.RemoveAll(d); err != nil {
			errs = append(errs, fmt.Errorf("failed to remove %s: %w", d, err))
		}
	}
	used := usedByLiving()
	for _, d := range s.EmptyDirs {
		if used[d] {
			continue // another owner's mount namespaces have mounts on it
		}
		_ = os.Remove(filepath.Join(d, MadeMarker))
		_ = os.Remove(d) // not empty: not ours to remove
	}
	return errors.Join(errs...)
}

// usedByLiving lists the UsedDirs of the living owners: another process,
// or another user in this one, whose state still lists them (a user that
// cleans up releases its entries before it cleans).
func usedByLiving() map[string]bool {
	used := map[string]bool{}
	paths, _ := filepath.Glob(filepath.Join(Root(), "*.json"))
	for _, path := range paths {
		s, err := load(path)
		if err != nil || !s.Owner.Alive() {
			continue
		}
		for _, d := range s.UsedDirs {
			used[d] = true
		}
	}
	return used
}

// pollUntil waits until done reports true, up to cleanTimeout.
func pollUntil(done func() bool, what string) error {
	err := wait.PollUntilContextTimeout(context.Background(), 50*time.Millisecond, cleanTimeout, true,
		func(context.Context) (bool, error) { return done(), nil })
	if err != nil {
		return fmt.Errorf("timed out waiting for %s: %w", what, err)
	}
	return nil
}
