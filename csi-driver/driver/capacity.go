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
	"github.com/container-storage-interface/spec/lib/go/csi"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/wrapperspb"
)

const (
	mib = int64(1) << 20
	gib = int64(1) << 30
	// sizeAlignment keeps every volume a whole number of MiB, which every
	// block size and loop device accepts.
	sizeAlignment = mib
	// defaultVolumeSize is used when the request names no size.
	defaultVolumeSize = gib
	// minXFSSize is the smallest filesystem mkfs.xfs creates.
	minXFSSize = 300 * mib
)

// volumeSize picks the size for a capacity range: the required bytes (or the
// default, or the floor) rounded up to whole MiB, within the limit.
func volumeSize(r *csi.CapacityRange, floor int64) (int64, error) {
	requiredBytes, limit := r.GetRequiredBytes(), r.GetLimitBytes()
	if requiredBytes < 0 || limit < 0 {
		return 0, status.Error(codes.InvalidArgument, "capacity_range must not be negative")
	}
	if limit > 0 && requiredBytes > limit {
		return 0, status.Errorf(codes.InvalidArgument, "capacity_range.required_bytes %d exceeds limit_bytes %d", requiredBytes, limit)
	}
	size := requiredBytes
	if size == 0 {
		size = defaultVolumeSize
		if limit > 0 {
			size = min(size, limit)
		}
	}
	size = max(roundUp(size, sizeAlignment), floor)
	if limit > 0 && size > limit {
		return 0, status.Errorf(codes.OutOfRange, "capacity_range.limit_bytes %d is below the smallest possible volume of %d bytes", limit, size)
	}
	return size, nil
}

// inRange reports whether an existing volume of size bytes satisfies r.
func inRange(size int64, r *csi.CapacityRange) bool {
	return size >= r.GetRequiredBytes() && (r.GetLimitBytes() == 0 || size <= r.GetLimitBytes())
}

func roundUp(n, multiple int64) int64 {
	return (n + multiple - 1) / multiple * multiple
}

// sizeFloor is the smallest volume that the capabilities can be staged with.
func (d *Driver) sizeFloor(caps []*csi.VolumeCapability) int64 {
	floor := sizeAlignment
	for _, c := range caps {
		if c.GetMount() != nil {
			floor = max(floor, minFilesystemSize(d.fsTypeOf(c)))
		}
	}
	return floor
}

// minFilesystemSize is the smallest volume a filesystem of fsType fits on.
func minFilesystemSize(fsType string) int64 {
	if fsType == fsXFS {
		return minXFSSize
	}
	return sizeAlignment
}

func wrapInt64(n int64) *wrapperspb.Int64Value {
	return wrapperspb.Int64(n)
}
