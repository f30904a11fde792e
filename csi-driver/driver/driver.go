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
	"cmp"
	"errors"
	"fmt"
	"path/filepath"

	"github.com/go-logr/logr"
	"k8s.io/mount-utils"
	utilexec "k8s.io/utils/exec"

	"github.com/plinth-dev/plinth/csi-driver/backend"
	"github.com/plinth-dev/plinth/internal/wellknown"
)

// DefaultName is the CSI driver name Plinth registers.
const DefaultName = wellknown.DriverName

// DefaultKubeletDir is the kubelet's default root directory.
const DefaultKubeletDir = "/var/lib/kubelet"

// Options configures a Driver.
type Options struct {
	// Name is the CSI driver name; empty means DefaultName.
	Name string
	// Version is reported by GetPluginInfo.
	Version string
	// NodeID is the name of the Kubernetes node the driver runs on.
	NodeID string
	// Backend stores the volumes.
	Backend backend.Backend
	// Topology adds segments such as zone and region to the node's topology; optional.
	Topology TopologySource
	// MaxVolumesPerNode is reported by NodeGetInfo; zero means no limit.
	MaxVolumesPerNode int64
	// DefaultFSType formats volumes whose capability names no filesystem; empty means ext4.
	DefaultFSType string
	// KubeletDir is the kubelet's root directory; node calls refuse staging,
	// target and volume paths outside it. Empty means DefaultKubeletDir.
	KubeletDir string
	// AllowedMountOptions are mount options the driver otherwise refuses
	// (see RefusedMountOptions) that the admin allows anyway.
	AllowedMountOptions []string
	// EphemeralMaxVolumeBytes is the largest inline ephemeral volume; zero
	// means no limit beyond the pool's capacity.
	EphemeralMaxVolumeBytes int64
	// EphemeralMaxTotalBytes bounds the sum of the sizes of the inline
	// ephemeral volumes of this node; zero means no limit beyond the pool's
	// capacity.
	EphemeralMaxTotalBytes int64
	// Mounter formats and mounts; nil means the host's mount and mkfs tools.
	Mounter *mount.SafeFormatAndMount
	// Logger is the base logger; each call logs with the method name added.
	Logger logr.Logger
}

// Driver implements the CSI Identity, Controller and Node services.
type Driver struct {
	name, version string
	nodeID        string
	backend       backend.Backend
	topology      TopologySource
	maxVolumes    int64
	defaultFSType string
	mounter       *mount.SafeFormatAndMount
	resizer       *mount.ResizeFs
	log           logr.Logger
	locks         *keyLocks
	kubeletDir    string
	allowedMount  map[string]bool
	ephemeral     ephemeralLimits
}

// New checks opts and returns a Driver.
func New(opts Options) (*Driver, error) {
	if opts.Backend == nil {
		return nil, errors.New("failed to create driver: no backend")
	}
	if opts.NodeID == "" {
		return nil, errors.New("failed to create driver: no node ID")
	}
	d := &Driver{
		name:          opts.Name,
		version:       opts.Version,
		nodeID:        opts.NodeID,
		backend:       opts.Backend,
		topology:      opts.Topology,
		maxVolumes:    opts.MaxVolumesPerNode,
		defaultFSType: opts.DefaultFSType,
		mounter:       opts.Mounter,
		log:           opts.Logger,
		locks:         newKeyLocks(),
		kubeletDir:    filepath.Clean(cmp.Or(opts.KubeletDir, DefaultKubeletDir)),
		ephemeral:     ephemeralLimits{volumeBytes: opts.EphemeralMaxVolumeBytes, totalBytes: opts.EphemeralMaxTotalBytes},
	}
	if !filepath.IsAbs(d.kubeletDir) || d.kubeletDir == "/" {
		return nil, fmt.Errorf("failed to create driver: kubelet directory %q must be an absolute path below /", opts.KubeletDir)
	}
	if d.ephemeral.volumeBytes < 0 || d.ephemeral.totalBytes < 0 {
		return nil, errors.New("failed to create driver: inline ephemeral volume limits must not be negative")
	}
	var err error
	if d.allowedMount, err = parseAllowedMountOptions(opts.AllowedMountOptions); err != nil {
		return nil, fmt.Errorf("failed to create driver: %w", err)
	}
	if d.name == "" {
		d.name = DefaultName
	}
	if d.defaultFSType == "" {
		d.defaultFSType = fsExt4
	}
	if !supportedFSTypes[d.defaultFSType] {
		return nil, errors.New("failed to create driver: unsupported default filesystem " + d.defaultFSType)
	}
	if d.mounter == nil {
		d.mounter = mount.NewSafeFormatAndMount(mount.NewWithoutSystemd(""), utilexec.New())
	}
	d.resizer = mount.NewResizeFs(d.mounter.Exec)
	return d, nil
}
