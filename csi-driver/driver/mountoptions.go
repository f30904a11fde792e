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
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/container-storage-interface/spec/lib/go/csi"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// ParamAllowSuidAndDevices is the StorageClass parameter that, set to
// "true", mounts the filesystem volumes of the class without nosuid and
// nodev, and allows the mount options suid and dev. The driver puts it in
// the volume context of the volumes it creates, where NodeStageVolume reads
// it; the backend never sees it.
const ParamAllowSuidAndDevices = "allowSuidAndDevices"

// defaultMountOptions are added to every filesystem mount, each unless the
// option it negates was asked for (and allowed): a tenant who writes a
// volume's content cannot plant setuid binaries or device nodes that other
// pods on the node would honour.
var defaultMountOptions = map[string]string{"nosuid": "suid", "nodev": "dev"}

// RefusedMountOptions are the mount options that let a volume's content,
// which a tenant controls, take down or take over the node, and why. The
// driver refuses them with InvalidArgument unless the admin allows them
// (Options.AllowedMountOptions); suid and dev are also allowed by a class
// with ParamAllowSuidAndDevices.
var RefusedMountOptions = map[string]string{
	"errors=panic":       "a filesystem error, which a crafted or corrupted volume triggers at will, panics the node's kernel (ext4)",
	"fatal_errors=panic": "a filesystem error panics the node's kernel (btrfs)",
	"suid":               "setuid and setgid binaries on the volume run with their owner's privileges",
	"dev":                "device nodes on the volume give access to the node's devices",
}

// parseAllowedMountOptions checks the options an admin allows: each must
// be one the driver refuses, or it is a typo.
func parseAllowedMountOptions(opts []string) (map[string]bool, error) {
	allowed := map[string]bool{}
	for _, o := range opts {
		o = strings.TrimSpace(o)
		if o == "" {
			continue
		}
		if _, ok := RefusedMountOptions[o]; !ok {
			return nil, fmt.Errorf("allowed mount option %q is not one the driver refuses (%s)", o, strings.Join(slices.Sorted(maps.Keys(RefusedMountOptions)), ", "))
		}
		allowed[o] = true
	}
	return allowed, nil
}

// allowSuidAndDevices reads ParamAllowSuidAndDevices from a class's
// parameters or a volume's context; absent means false.
func allowSuidAndDevices(m map[string]string) (bool, error) {
	v, ok := m[ParamAllowSuidAndDevices]
	if !ok {
		return false, nil
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		return false, status.Errorf(codes.InvalidArgument, "%s %q must be true or false", ParamAllowSuidAndDevices, v)
	}
	return b, nil
}

// checkMountFlags refuses the mount flags of c that RefusedMountOptions
// lists, unless allowed. A flag may carry several options joined by commas,
// as mount(8) would read them.
func (d *Driver) checkMountFlags(field string, c *csi.VolumeCapability, suidDev bool) error {
	for _, flag := range c.GetMount().GetMountFlags() {
		for _, o := range strings.Split(flag, ",") {
			o = strings.TrimSpace(o)
			why, refused := RefusedMountOptions[o]
			if !refused || d.allowedMount[o] || (suidDev && (o == "suid" || o == "dev")) {
				continue
			}
			return status.Errorf(codes.InvalidArgument, "%s: mount option %q is refused: %s; the node's admin may allow it (--allowed-mount-options)", field, o, why)
		}
	}
	return nil
}

// checkCapabilitiesMountFlags applies checkMountFlags to every capability.
func (d *Driver) checkCapabilitiesMountFlags(field string, caps []*csi.VolumeCapability, suidDev bool) error {
	for i, c := range caps {
		if err := d.checkMountFlags(fmt.Sprintf("%s[%d]", field, i), c, suidDev); err != nil {
			return err
		}
	}
	return nil
}

// mountOptions returns the options to mount a filesystem of fsType with
// for capability c: the capability's flags, nodev and nosuid unless suidDev
// (or the flags ask for dev or suid), ro for a read-only mode, nouuid for
// XFS.
func mountOptions(c *csi.VolumeCapability, fsType string, suidDev bool) []string {
	options := slices.Clone(c.GetMount().GetMountFlags())
	asked := map[string]bool{}
	for _, flag := range options {
		for _, o := range strings.Split(flag, ",") {
			asked[strings.TrimSpace(o)] = true
		}
	}
	for _, o := range slices.Sorted(maps.Keys(defaultMountOptions)) {
		if !suidDev && !asked[defaultMountOptions[o]] {
			options = append(options, o)
		}
	}
	if isReadOnlyMode(c) {
		options = append(options, "ro")
	}
	if fsType == fsXFS {
		// Snapshots and clones carry their source's filesystem UUID, and XFS
		// refuses to mount a second filesystem with a UUID already mounted.
		options = append(options, "nouuid")
	}
	return options
}
