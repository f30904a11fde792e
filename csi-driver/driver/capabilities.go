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

package driver

import (
	"fmt"

	"github.com/container-storage-interface/spec/lib/go/csi"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

const (
	fsExt4 = "ext4"
	fsXFS  = "xfs"
)

// supportedFSTypes are the filesystems NodeStageVolume formats.
var supportedFSTypes = map[string]bool{fsExt4: true, fsXFS: true}

// supportedAccessModes are the node-local modes: a volume lives on one node.
var supportedAccessModes = map[csi.VolumeCapability_AccessMode_Mode]bool{
	csi.VolumeCapability_AccessMode_SINGLE_NODE_WRITER:        true,
	csi.VolumeCapability_AccessMode_SINGLE_NODE_READER_ONLY:   true,
	csi.VolumeCapability_AccessMode_SINGLE_NODE_SINGLE_WRITER: true,
	csi.VolumeCapability_AccessMode_SINGLE_NODE_MULTI_WRITER:  true,
}

// checkCapabilities returns InvalidArgument naming field when caps is empty
// or holds a capability the driver cannot serve.
func checkCapabilities(field string, caps []*csi.VolumeCapability) error {
	if len(caps) == 0 {
		return status.Errorf(codes.InvalidArgument, "%s is required", field)
	}
	for i, c := range caps {
		if err := checkCapability(c); err != nil {
			return status.Errorf(codes.InvalidArgument, "%s[%d]: %v", field, i, err)
		}
	}
	return nil
}

// checkCapability reports why c cannot be served, or nil.
func checkCapability(c *csi.VolumeCapability) error {
	if c == nil {
		return fmt.Errorf("capability is empty")
	}
	if mode := c.GetAccessMode().GetMode(); !supportedAccessModes[mode] {
		return fmt.Errorf("access mode %v is not supported by node-local volumes", mode)
	}
	switch {
	case c.GetBlock() != nil:
		return nil
	case c.GetMount() != nil:
		if fs := c.GetMount().GetFsType(); fs != "" && !supportedFSTypes[fs] {
			return fmt.Errorf("filesystem %q is not supported, use ext4 or xfs", fs)
		}
		return nil
	default:
		return fmt.Errorf("access type must be block or mount")
	}
}

// requiredCapability checks the single capability of a node call.
func requiredCapability(c *csi.VolumeCapability) error {
	if c == nil {
		return status.Error(codes.InvalidArgument, "volume_capability is required")
	}
	if err := checkCapability(c); err != nil {
		return status.Errorf(codes.InvalidArgument, "volume_capability: %v", err)
	}
	return nil
}

// fsTypeOf returns the filesystem a mount capability asks for, or the default.
func (d *Driver) fsTypeOf(c *csi.VolumeCapability) string {
	if fs := c.GetMount().GetFsType(); fs != "" {
		return fs
	}
	return d.defaultFSType
}

func isReadOnlyMode(c *csi.VolumeCapability) bool {
	return c.GetAccessMode().GetMode() == csi.VolumeCapability_AccessMode_SINGLE_NODE_READER_ONLY
}
