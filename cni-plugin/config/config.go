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

package config

import (
	"encoding/json"
	"fmt"
	"net/netip"
	"path/filepath"
	"regexp"

	"github.com/containernetworking/cni/pkg/types"
	"github.com/containernetworking/cni/pkg/version"
)

// Defaults for the optional fields of NetConf.
const (
	// DefaultMTU is the pod interface MTU when the config sets none.
	DefaultMTU = 1500
	// DefaultDataDir holds the IPAM store; it must survive reboots so that
	// running pods keep their addresses across node agent restarts.
	DefaultDataDir = "/var/lib/cni/plinth"
	// DefaultAgentStateFile is written by the node agent once the node can
	// serve pods; STATUS reports "not available" until it exists.
	DefaultAgentStateFile = "/run/plinth/cni-ready.json"
)

// Bounds on the MTU of a pod interface (IPv6 needs at least 1280).
const (
	minMTU = 1280
	maxMTU = 65535
)

// networkName restricts network names to what is safe as a directory name.
var networkName = regexp.MustCompile(`^[a-zA-Z0-9][a-zA-Z0-9_.\-]{0,127}$`)

// NetConf is the plinth-cni network configuration.
type NetConf struct {
	types.PluginConf

	// Ranges are the node's pod CIDRs, at most one IPv4 and one IPv6 block
	// each for dual-stack; every attachment gets one address per family.
	Ranges []string `json:"ranges"`
	// MTU of the pod interface and its host peer; 0 means DefaultMTU.
	MTU int `json:"mtu,omitempty"`
	// DataDir holds the IPAM store (one sub-directory per network name).
	DataDir string `json:"dataDir,omitempty"`
	// AgentStateFile is the node agent's readiness file checked by STATUS.
	AgentStateFile string `json:"agentStateFile,omitempty"`
	// RuntimeConfig holds what the runtime fills in for the capabilities
	// the conflist declares.
	RuntimeConfig RuntimeConfig `json:"runtimeConfig,omitempty"`

	// ParsedRanges are the validated Ranges, filled in by Parse.
	ParsedRanges []netip.Prefix `json:"-"`
}

// RuntimeConfig is the runtime's part of the configuration.
type RuntimeConfig struct {
	// PortMappings are the pod's hostPorts (capability portMappings).
	PortMappings []PortMapping `json:"portMappings,omitempty"`
}

// PortMapping maps a port of the node to a port of the pod.
type PortMapping struct {
	HostPort      int    `json:"hostPort"`
	ContainerPort int    `json:"containerPort"`
	Protocol      string `json:"protocol,omitempty"`
	HostIP        string `json:"hostIP,omitempty"`
}

// FieldError is a configuration error that names the offending JSON field.
type FieldError struct {
	// Field is the JSON path of the offending field, e.g. "ranges[1]".
	Field string
	// Reason says what is wrong with the value.
	Reason string
}

// Error implements error.
func (e *FieldError) Error() string {
	return fmt.Sprintf("invalid field %q: %s", e.Field, e.Reason)
}

// Parse decodes stdin data into a NetConf, applies defaults and validates it.
// It also parses prevResult (CHECK and chained ADD) into PluginConf.PrevResult.
func Parse(data []byte) (*NetConf, error) {
	conf := &NetConf{}
	if err := json.Unmarshal(data, conf); err != nil {
		return nil, fmt.Errorf("failed to decode network config: %w", err)
	}
	conf.applyDefaults()
	if err := conf.validate(); err != nil {
		return nil, err
	}
	if err := version.ParsePrevResult(&conf.PluginConf); err != nil {
		return nil, &FieldError{Field: "prevResult", Reason: err.Error()}
	}
	return conf, nil
}

func (c *NetConf) applyDefaults() {
	if c.MTU == 0 {
		c.MTU = DefaultMTU
	}
	if c.DataDir == "" {
		c.DataDir = DefaultDataDir
	}
	if c.AgentStateFile == "" {
		c.AgentStateFile = DefaultAgentStateFile
	}
}

func (c *NetConf) validate() error {
	if !networkName.MatchString(c.Name) {
		return &FieldError{Field: "name", Reason: fmt.Sprintf("%q must match %s", c.Name, networkName)}
	}
	if c.MTU < minMTU || c.MTU > maxMTU {
		return &FieldError{Field: "mtu", Reason: fmt.Sprintf("%d is outside [%d, %d]", c.MTU, minMTU, maxMTU)}
	}
	if err := validatePath("dataDir", c.DataDir); err != nil {
		return err
	}
	if err := validatePath("agentStateFile", c.AgentStateFile); err != nil {
		return err
	}
	ranges, err := parseRanges(c.Ranges)
	if err != nil {
		return err
	}
	c.ParsedRanges = ranges
	return nil
}

func validatePath(field, p string) error {
	if !filepath.IsAbs(p) || filepath.Clean(p) != p {
		return &FieldError{Field: field, Reason: fmt.Sprintf("%q must be a clean absolute path", p)}
	}
	return nil
}

func parseRanges(ranges []string) ([]netip.Prefix, error) {
	if len(ranges) == 0 {
		return nil, &FieldError{Field: "ranges", Reason: "at least one pod CIDR is required"}
	}
	families := map[bool]bool{}
	parsed := make([]netip.Prefix, 0, len(ranges))
	for i, r := range ranges {
		field := fmt.Sprintf("ranges[%d]", i)
		p, err := parseRange(field, r)
		if err != nil {
			return nil, err
		}
		if families[p.Addr().Is4()] {
			return nil, &FieldError{Field: field, Reason: "at most one range per IP family"}
		}
		families[p.Addr().Is4()] = true
		parsed = append(parsed, p)
	}
	return parsed, nil
}

func parseRange(field, r string) (netip.Prefix, error) {
	p, err := netip.ParsePrefix(r)
	if err != nil || p.Addr().Is4In6() || p.Addr().Zone() != "" {
		return netip.Prefix{}, &FieldError{Field: field, Reason: fmt.Sprintf("%q is not a CIDR", r)}
	}
	if p.Masked() != p {
		return netip.Prefix{}, &FieldError{Field: field, Reason: fmt.Sprintf("%q has host bits set", r)}
	}
	if p.Addr().BitLen()-p.Bits() < 2 {
		return netip.Prefix{}, &FieldError{Field: field, Reason: fmt.Sprintf("%q is too small for pods", r)}
	}
	return p, nil
}

// AgentState is the node agent's state file. Its presence tells the plugin
// (STATUS) that the node is ready to attach pods.
type AgentState struct {
	// Node is the name of the node the agent runs on.
	Node string `json:"node"`
	// PodCIDRs are the node's pod CIDRs the conflist was rendered with.
	PodCIDRs []string `json:"podCIDRs"`
}
