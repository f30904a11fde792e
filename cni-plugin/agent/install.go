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

package agent

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/plinth-dev/plinth/internal/atomicfile"
)

const (
	loopbackName = "loopback"
	// loopbackMarker, next to the loopback plugin in the CNI bin dir, holds
	// the digest of the loopback Plinth installed. It lives beside the
	// binary because install-cni writes nothing else on the host, and so
	// that the record goes wherever the binary goes.
	loopbackMarker = ".plinth-installed-loopback"
)

// installPlugin copies the plugin binary into the CNI bin dir unless it is
// already there; an empty PluginBinary leaves installation to someone else.
func (a *Agent) installPlugin() error {
	if a.cfg.PluginBinary == "" {
		return nil
	}
	return InstallPlugin(a.cfg.PluginBinary, a.cfg.CNIBinDir)
}

// InstallPlugin copies the plugin binary into binDir as plinth-cni,
// atomically, leaving an identical copy alone. The node's init container
// runs it (plinth-node install-cni) so the plugin is in place before the
// agent writes the config that makes the runtime call it.
func InstallPlugin(binary, binDir string) error {
	data, err := os.ReadFile(binary)
	if err != nil {
		return fmt.Errorf("failed to read plugin binary: %w", err)
	}
	return writeFileAtomic(filepath.Join(binDir, pluginBinaryName), data, 0o755)
}

// InstallLoopback copies binary, the reference loopback plugin that every
// runtime calls for the pod's lo, into binDir unless binDir has a loopback
// already (from the host or another CNI: never replaced), and records that
// Plinth installed it, so that RemoveLoopback removes only that copy. It
// reports whether it installed one.
func InstallLoopback(binary, binDir string) (bool, error) {
	dst := filepath.Join(binDir, loopbackName)
	if _, err := os.Lstat(dst); !errors.Is(err, fs.ErrNotExist) {
		if err != nil {
			return false, fmt.Errorf("failed to look for %s: %w", dst, err)
		}
		return false, nil
	}
	data, err := os.ReadFile(binary)
	if err != nil {
		return false, fmt.Errorf("failed to read the loopback plugin: %w", err)
	}
	// CNI directories are conventionally world-readable.
	if err := os.MkdirAll(binDir, 0o755); err != nil { //nolint:gosec // see above
		return false, fmt.Errorf("failed to create %s: %w", binDir, err)
	}
	if err := atomicfile.Create(dst, data, 0o755); err != nil {
		if errors.Is(err, fs.ErrExist) { // another installer was quicker
			return false, nil
		}
		return false, fmt.Errorf("failed to install the loopback plugin: %w", err)
	}
	// The record follows the binary: a crash in between leaves a loopback
	// that is never removed, rather than a record that could claim someone
	// else's.
	if err := atomicfile.Write(filepath.Join(binDir, loopbackMarker), []byte(digest(data)+"\n"), 0o644); err != nil {
		return false, errors.Join(fmt.Errorf("failed to record the loopback plugin as Plinth's: %w", err), removeFile(dst))
	}
	return true, nil
}

// RemoveLoopback removes the loopback plugin from binDir if Plinth
// installed it and nobody replaced it since, and Plinth's record of it.
func RemoveLoopback(binDir string) error {
	marker := filepath.Join(binDir, loopbackMarker)
	want, err := os.ReadFile(marker)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("failed to read %s: %w", marker, err)
	}
	dst := filepath.Join(binDir, loopbackName)
	data, err := os.ReadFile(dst)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("failed to read %s: %w", dst, err)
	}
	if err == nil && digest(data) == strings.TrimSpace(string(want)) {
		if err := removeFile(dst); err != nil {
			return err
		}
	}
	return removeFile(marker)
}

func digest(data []byte) string {
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:])
}
