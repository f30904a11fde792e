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
	"fmt"
	"io"
	"os"
	"os/exec"
	"syscall"
)

// watchdogEnv names the state file a watchdog process guards.
const watchdogEnv = "PLINTH_REAPER_STATE"

func init() {
	if path := os.Getenv(watchdogEnv); path != "" {
		os.Exit(runWatchdog(path))
	}
}

// startWatchdog starts this executable as the watchdog of the state file at
// path and returns the write end of its standard input, which must stay
// open for the life of this process.
func startWatchdog(path string) (*os.File, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("failed to find this executable: %w", err)
	}
	r, w, err := os.Pipe()
	if err != nil {
		return nil, fmt.Errorf("failed to create the watchdog pipe: %w", err)
	}
	defer func() { _ = r.Close() }()
	logFile, err := os.OpenFile(path+".log", os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		_ = w.Close()
		return nil, fmt.Errorf("failed to open the watchdog log: %w", err)
	}
	defer func() { _ = logFile.Close() }()
	cmd := exec.Command(exe)
	cmd.Env = append(os.Environ(), watchdogEnv+"="+path)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = r, logFile, logFile
	// A session of its own: the Ctrl-C that stops the owner's process
	// group must not stop the watchdog before it cleans up.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		_ = w.Close()
		return nil, fmt.Errorf("failed to start the watchdog: %w", err)
	}
	go func() { _ = cmd.Wait() }()
	return w, nil
}

// runWatchdog waits for its owner to exit, then cleans what the owner's
// state file still lists.
func runWatchdog(path string) int {
	_, _ = io.Copy(io.Discard, os.Stdin) // returns once every write end is closed
	state, err := load(path)
	if err == nil {
		err = Clean(state)
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "reaper: %v\n", err)
		return 1
	}
	_ = os.Remove(path)
	_ = os.Remove(path + ".log")
	return 0
}
