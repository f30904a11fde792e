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
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/plinth-dev/plinth/cni-plugin/config"
	"github.com/plinth-dev/plinth/internal/atomicfile"
)

// conflist is the network configuration list the runtime reads.
type conflist struct {
	CNIVersion string        `json:"cniVersion"`
	Name       string        `json:"name"`
	Plugins    []pluginEntry `json:"plugins"`
}

// pluginEntry is plinth-cni's entry in the conflist; the fields mirror
// config.NetConf, which parses it.
type pluginEntry struct {
	Type           string   `json:"type"`
	Ranges         []string `json:"ranges"`
	MTU            int      `json:"mtu"`
	DataDir        string   `json:"dataDir"`
	AgentStateFile string   `json:"agentStateFile"`
	// Capabilities asks the runtime for the pods' hostPorts
	// (runtimeConfig.portMappings), which the plugin maps with nftables.
	Capabilities map[string]bool `json:"capabilities"`
}

// podMTU leaves room for VXLAN headers unless the overlay is never used, so
// that pods never send frames the tunnel cannot carry.
func (a *Agent) podMTU(self nodeInfo) int {
	if a.cfg.PodMTU != 0 {
		return a.cfg.PodMTU
	}
	if a.cfg.Mode == ModeHostGW {
		return a.cfg.UnderlayMTU
	}
	return a.vxlanMTU(self.internalIP)
}

// renderConflist returns the conflist for this node's pod CIDRs.
func (a *Agent) renderConflist(self nodeInfo) ([]byte, error) {
	plugin := pluginEntry{
		Type:           pluginBinaryName,
		MTU:            a.podMTU(self),
		DataDir:        a.cfg.DataDir,
		AgentStateFile: a.cfg.StateFile,
		Capabilities:   map[string]bool{"portMappings": true},
	}
	for _, p := range self.podCIDRs {
		plugin.Ranges = append(plugin.Ranges, p.String())
	}
	list := conflist{CNIVersion: "1.1.0", Name: a.cfg.NetworkName, Plugins: []pluginEntry{plugin}}
	data, err := json.MarshalIndent(list, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("failed to render conflist: %w", err)
	}
	return append(data, '\n'), nil
}

func (a *Agent) writeConflist(self nodeInfo) error {
	data, err := a.renderConflist(self)
	if err != nil {
		return err
	}
	return writeFileAtomic(a.ConflistPath(), data, 0o644)
}

func (a *Agent) writeState(self nodeInfo) error {
	state := config.AgentState{Node: self.name}
	for _, p := range self.podCIDRs {
		state.PodCIDRs = append(state.PodCIDRs, p.String())
	}
	data, err := json.Marshal(state)
	if err != nil {
		return fmt.Errorf("failed to encode agent state: %w", err)
	}
	return writeFileAtomic(a.cfg.StateFile, data, 0o644)
}

// writeFileAtomic replaces path with data so that readers see the old or
// the new content, never a partial file (a runtime may execute the binary
// or read the conflist at any moment). Identical content is left alone, so
// the runtime does not see a needless change.
func writeFileAtomic(path string, data []byte, perm os.FileMode) error {
	if same, err := sameContent(path, data); err != nil || same {
		return err
	}
	dir := filepath.Dir(path)
	// CNI directories are conventionally world-readable.
	if err := os.MkdirAll(dir, 0o755); err != nil { //nolint:gosec // see above
		return fmt.Errorf("failed to create %s: %w", dir, err)
	}
	if err := atomicfile.Write(path, data, perm); err != nil {
		return fmt.Errorf("failed to write %s: %w", path, err)
	}
	return nil
}

func sameContent(path string, data []byte) (bool, error) {
	old, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("failed to read %s: %w", path, err)
	}
	return bytes.Equal(old, data), nil
}

func removeFile(path string) error {
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("failed to remove %s: %w", path, err)
	}
	return nil
}
