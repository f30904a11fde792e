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
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"
)

// fileID is a file's identity: the device of its filesystem and its inode.
// Loop devices report their backing file by this pair; the path they report
// depends on the mount namespace that attached them.
type fileID struct{ dev, ino uint64 }

// loopDevice is a bound loop device and the identity of its backing file.
type loopDevice struct {
	path    string
	rdev    uint64 // the device number of the loop device itself
	node    fileID // the identity of its device node in /dev
	backing fileID
}

// detachLoops detaches the loop devices backed by the listed files or by
// files under the listed directories, those backed by files on a
// filesystem that lives on such a device (volumes in a loop-mounted pool),
// and those backed by such a device itself (the kubelet holds each block
// volume it maps open through a loop device over the volume's device node,
// and a killed kubelet leaves that loop device bound).
// A device still in use detaches when its last user goes.
func detachLoops(s State) error {
	devices, err := loopsBackedBy(loopTargets(s))
	errs := make([]error, 0, 1+len(devices))
	errs = append(errs, err)
	for _, d := range devices {
		errs = append(errs, d.detach())
	}
	return errors.Join(errs...)
}

// waitLoops waits until the devices detachLoops released are unbound.
func waitLoops(s State) error {
	targets := loopTargets(s)
	var last error
	err := pollUntil(func() bool {
		devices, err := loopsBackedBy(targets)
		last = err
		return err == nil && len(devices) == 0
	}, "loop devices to detach")
	return errors.Join(err, last)
}

// loopTargets identifies the files s holds that loop devices may use.
func loopTargets(s State) map[fileID]bool {
	targets := map[fileID]bool{}
	for _, f := range s.LoopFiles {
		if id, err := idOf(f); err == nil {
			targets[id] = true
		}
	}
	for _, d := range append(s.Dirs, s.LoopDirs...) {
		addFilesUnder(d, targets)
	}
	return targets
}

// loopsBackedBy returns the bound loop devices backed by a target file, or
// by a file on a filesystem that lives on such a device.
func loopsBackedBy(targets map[fileID]bool) ([]loopDevice, error) {
	if len(targets) == 0 {
		return nil, nil
	}
	devices, err := boundLoops()
	if err != nil {
		return nil, err
	}
	return selectLoops(devices, targets), nil
}

// selectLoops returns the devices backed by a target, and, transitively,
// those backed by files on a selected device or by a selected device's node.
func selectLoops(devices []loopDevice, targets map[fileID]bool) []loopDevice {
	selected := map[uint64]bool{} // rdev of selected devices
	nodes := map[fileID]bool{}    // device nodes of selected devices
	var out []loopDevice
	for changed := true; changed; {
		changed = false
		for _, d := range devices {
			if selected[d.rdev] || (!targets[d.backing] && !selected[d.backing.dev] && !nodes[d.backing]) {
				continue
			}
			selected[d.rdev], changed = true, true
			nodes[d.node] = true
			out = append(out, d)
		}
	}
	return out
}

func idOf(path string) (fileID, error) {
	var st unix.Stat_t
	if err := unix.Stat(path, &st); err != nil {
		return fileID{}, fmt.Errorf("failed to stat %s: %w", path, err)
	}
	return fileID{dev: st.Dev, ino: st.Ino}, nil
}

// addFilesUnder adds every regular file under dir (without crossing into
// other filesystems) to ids.
func addFilesUnder(dir string, ids map[fileID]bool) {
	root, err := idOf(dir)
	if err != nil {
		return
	}
	_ = filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return nil //nolint:nilerr // keep walking past what vanished
		}
		id, err := idOf(path)
		switch {
		case err != nil:
			return nil
		case id.dev != root.dev && d.IsDir():
			return filepath.SkipDir
		case d.Type().IsRegular():
			ids[id] = true
		}
		return nil
	})
}

// boundLoops lists the loop devices that have a backing file.
func boundLoops() ([]loopDevice, error) {
	paths, err := filepath.Glob("/sys/block/loop*")
	if err != nil {
		return nil, fmt.Errorf("failed to list loop devices: %w", err)
	}
	var out []loopDevice
	for _, p := range paths {
		if d, ok := inspectLoop("/dev/" + filepath.Base(p)); ok {
			out = append(out, d)
		}
	}
	return out, nil
}

func inspectLoop(path string) (loopDevice, bool) {
	f, err := os.Open(path)
	if err != nil {
		return loopDevice{}, false
	}
	defer func() { _ = f.Close() }()
	info, err := unix.IoctlLoopGetStatus64(int(f.Fd()))
	if err != nil { // ENXIO: not bound
		return loopDevice{}, false
	}
	var st unix.Stat_t
	if err := unix.Fstat(int(f.Fd()), &st); err != nil {
		return loopDevice{}, false
	}
	return loopDevice{
		path:    path,
		rdev:    st.Rdev,
		node:    fileID{dev: st.Dev, ino: st.Ino},
		backing: fileID{dev: info.Device, ino: info.Inode},
	}, true
}

func (d loopDevice) detach() error {
	f, err := os.Open(d.path)
	if err != nil {
		return fmt.Errorf("failed to open %s: %w", d.path, err)
	}
	defer func() { _ = f.Close() }()
	if err := unix.IoctlSetInt(int(f.Fd()), unix.LOOP_CLR_FD, 0); err != nil && !errors.Is(err, unix.ENXIO) {
		return fmt.Errorf("failed to detach %s: %w", d.path, err)
	}
	return nil
}
