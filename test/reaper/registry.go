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
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
)

// Process identifies a process across PID reuse.
type Process struct {
	PID int `json:"pid"`
	// Start is the process's start time in clock ticks since boot
	// (/proc/PID/stat field 22).
	Start uint64 `json:"start"`
}

// State is what one owner holds; the zero value holds nothing.
type State struct {
	Owner Process `json:"owner"`
	// Processes are killed (SIGKILL) first.
	Processes []Process `json:"processes,omitempty"`
	// Netns are named network namespaces (/run/netns/NAME): every process
	// inside is killed, then the namespace is removed.
	Netns []string `json:"netns,omitempty"`
	// LoopFiles are files attached to loop devices: those devices, and the
	// devices backed by files on a filesystem mounted from them, are detached.
	LoopFiles []string `json:"loopFiles,omitempty"`
	// LoopDirs hold files that loop devices may be attached to (volumes of
	// a pool that is a plain directory): those devices are detached.
	LoopDirs []string `json:"loopDirs,omitempty"`
	// Mounts in this mount namespace, unmounted deepest first.
	Mounts []string `json:"mounts,omitempty"`
	// Cgroups are paths relative to each cgroup hierarchy's root, removed
	// with everything below them.
	Cgroups []string `json:"cgroups,omitempty"`
	// Dirs are removed with their content, once nothing is mounted below.
	Dirs []string `json:"dirs,omitempty"`
	// EmptyDirs are removed if empty but for a MadeMarker file, and only
	// once no living owner lists them in UsedDirs (mount points made on the
	// host: removing a directory unmounts whatever other mount namespaces
	// have mounted on it).
	EmptyDirs []string `json:"emptyDirs,omitempty"`
	// UsedDirs are the host directories this owner mounts over elsewhere.
	UsedDirs []string `json:"usedDirs,omitempty"`
}

// MadeMarker is the file an owner puts into a host directory it made, so
// that whichever owner leaves last removes it.
const MadeMarker = ".plinth-reaper-made"

// Empty reports whether s holds nothing.
func (s *State) Empty() bool {
	return len(s.Processes)+len(s.Netns)+len(s.LoopFiles)+len(s.LoopDirs)+len(s.Mounts)+len(s.Cgroups)+len(s.Dirs)+len(s.EmptyDirs)+len(s.UsedDirs) == 0
}

// Registry is the state file of this process.
type Registry struct {
	mu    sync.Mutex
	path  string
	state State
	pipe  *os.File // write end of the watchdog's standard input
}

// Root is the directory of the state files, one per owner.
func Root() string {
	return filepath.Join(os.TempDir(), "plinth-reaper-"+strconv.Itoa(os.Getuid()))
}

var (
	getOnce   sync.Once
	global    *Registry
	globalErr error
)

// Get returns this process's registry. The first call sweeps the state
// files of owners that are gone, reporting on stderr what it could not
// clean, and starts the watchdog.
func Get() (*Registry, error) {
	getOnce.Do(func() { global, globalErr = open(Root()) })
	return global, globalErr
}

func open(root string) (*Registry, error) {
	if err := os.MkdirAll(root, 0o700); err != nil {
		return nil, fmt.Errorf("failed to create %s: %w", root, err)
	}
	if err := Sweep(root); err != nil {
		// What an exited owner left and cannot be cleaned yet stays
		// recorded for the next sweep; it is no reason to refuse this owner
		// (every later test would fail on another's leftovers).
		fmt.Fprintf(os.Stderr, "reaper: %v (kept for the next sweep)\n", err)
	}
	self, err := Self()
	if err != nil {
		return nil, err
	}
	r := &Registry{path: filepath.Join(root, strconv.Itoa(self.PID)+".json"), state: State{Owner: self}}
	if err := r.saveLocked(); err != nil {
		return nil, err
	}
	if r.pipe, err = startWatchdog(r.path); err != nil {
		return nil, err
	}
	return r, nil
}

// Track records what fn adds to the state before the caller creates it, so
// a crash between the two leaves a record, never an orphan.
func (r *Registry) Track(fn func(*State)) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	fn(&r.state)
	return r.saveLocked()
}

// Release forgets what the caller has cleaned up itself.
func (r *Registry) Release(fn func(*State)) error {
	return r.Track(fn)
}

// TrackProcess records a started process.
func (r *Registry) TrackProcess(pid int) error {
	p, err := Lookup(pid)
	if err != nil {
		return err
	}
	return r.Track(func(s *State) { s.Processes = append(s.Processes, p) })
}

// ReleaseProcess forgets a process that has been stopped.
func (r *Registry) ReleaseProcess(pid int) error {
	return r.Release(func(s *State) {
		s.Processes = slices.DeleteFunc(s.Processes, func(p Process) bool { return p.PID == pid })
	})
}

// Remove returns values without one occurrence of each item: two users of
// one process may list the same thing, and one leaving keeps the other's.
func Remove(values []string, items ...string) []string {
	out := slices.Clone(values)
	for _, item := range items {
		if i := slices.Index(out, item); i >= 0 {
			out = slices.Delete(out, i, i+1)
		}
	}
	return out
}

func (r *Registry) saveLocked() error {
	data, err := json.MarshalIndent(&r.state, "", "  ")
	if err != nil {
		return fmt.Errorf("failed to encode reaper state: %w", err)
	}
	// A reader (the watchdog, a sweep) sees the old or the new state.
	tmp := r.path + ".tmp"
	if err := os.WriteFile(tmp, data, 0o600); err != nil {
		return fmt.Errorf("failed to write reaper state %s: %w", tmp, err)
	}
	if err := os.Rename(tmp, r.path); err != nil {
		return fmt.Errorf("failed to replace reaper state %s: %w", r.path, err)
	}
	return nil
}

// load reads a state file; a missing file is an empty state.
func load(path string) (State, error) {
	var s State
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return s, nil
	}
	if err != nil {
		return s, fmt.Errorf("failed to read %s: %w", path, err)
	}
	if err := json.Unmarshal(data, &s); err != nil {
		return s, fmt.Errorf("failed to decode %s: %w", path, err)
	}
	return s, nil
}
