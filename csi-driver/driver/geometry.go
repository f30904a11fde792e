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
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
)

// errUnknownSuperblock means a device holds no superblock the driver can read.
var errUnknownSuperblock = errors.New("no ext2/3/4 or xfs superblock found")

// geometry is the size of a filesystem as its superblock records it.
type geometry struct {
	// sizeBytes is the space the filesystem spans on its device.
	sizeBytes int64
	// slack returns, for a device of deviceBytes, how much larger than the
	// filesystem the device may be with nothing left to grow: the resize
	// tools drop a trailing group too small to hold its own bookkeeping.
	slack func(deviceBytes int64) int64
}

// needsGrowth reports whether a filesystem with geometry g would grow on a
// device of deviceBytes.
func (g geometry) needsGrowth(deviceBytes int64) bool {
	return deviceBytes-g.sizeBytes > g.slack(deviceBytes)
}

// Superblock fields of ext2/3/4, as offsets into the superblock, which
// starts 1024 bytes into the device; all little-endian.
const (
	extSuperblockOffset  = 1024
	extSuperblockSize    = 1024
	extBlocksCountLo     = 0x04
	extFirstDataBlock    = 0x14
	extLogBlockSize      = 0x18
	extBlocksPerGroup    = 0x20
	extInodesPerGroup    = 0x28
	extMagic             = 0x38
	extRevLevel          = 0x4C
	extInodeSize         = 0x58
	extFeatureIncompat   = 0x60
	extReservedGDTBlocks = 0xCE
	extDescSize          = 0xFE
	extBlocksCountHi     = 0x150

	extMagicValue     = 0xEF53
	extIncompat64Bit  = 0x80
	extMinDescSize    = 32
	extOldInodeSize   = 128
	extMinLastGroup   = 50 // data blocks resize2fs and mke2fs demand of the last group
	ext32BitMaxBlocks = 1<<32 - 1
)

// maxBytes bounds the filesystem sizes the driver believes, far below
// math.MaxInt64 so that sums of sizes cannot overflow.
const maxBytes = 1 << 60

// XFS superblock fields, at the start of the device; all big-endian.
const (
	xfsMagic        = 0x00
	xfsBlockSize    = 0x04
	xfsDataBlocks   = 0x08
	xfsMagicValue   = 0x58465342 // "XFSB"
	xfsMinAGBlocks  = 64         // the kernel drops a trailing allocation group smaller than this
	xfsSuperblockSz = 0x10
)

// readGeometry reads the superblock of the filesystem of format on device.
func readGeometry(device, format string) (geometry, error) {
	f, err := os.Open(device)
	if err != nil {
		return geometry{}, fmt.Errorf("failed to open %s: %w", device, err)
	}
	defer f.Close()
	var g geometry
	switch {
	case isExtFormat(format):
		g, err = readExtGeometry(f)
	case format == fsXFS:
		g, err = readXFSGeometry(f)
	default:
		err = fmt.Errorf("%w: filesystem %q", errUnknownSuperblock, format)
	}
	if err != nil {
		return geometry{}, fmt.Errorf("failed to read the superblock of %s: %w", device, err)
	}
	return g, nil
}

// deviceSize returns the size in bytes of a block device or file.
func deviceSize(device string) (int64, error) {
	f, err := os.Open(device)
	if err != nil {
		return 0, fmt.Errorf("failed to open %s: %w", device, err)
	}
	defer f.Close()
	size, err := f.Seek(0, io.SeekEnd)
	if err != nil {
		return 0, fmt.Errorf("failed to find the size of %s: %w", device, err)
	}
	return size, nil
}

// isExtFormat reports whether format is an ext filesystem that
// mount-utils' ResizeFs grows.
func isExtFormat(format string) bool {
	return format == "ext3" || format == fsExt4
}

// extSuperblock is the raw ext2/3/4 superblock.
type extSuperblock []byte

func (sb extSuperblock) u16(off int) uint64 { return uint64(binary.LittleEndian.Uint16(sb[off:])) }
func (sb extSuperblock) u32(off int) uint64 { return uint64(binary.LittleEndian.Uint32(sb[off:])) }

func (sb extSuperblock) is64Bit() bool { return sb.u32(extFeatureIncompat)&extIncompat64Bit != 0 }

func (sb extSuperblock) blockSize() uint64 { return 1024 << min(sb.u32(extLogBlockSize), 6) }

func (sb extSuperblock) blocks() uint64 {
	n := sb.u32(extBlocksCountLo)
	if sb.is64Bit() {
		n |= sb.u32(extBlocksCountHi) << 32
	}
	return n
}

func (sb extSuperblock) inodeSize() uint64 {
	if sb.u32(extRevLevel) == 0 {
		return extOldInodeSize
	}
	return sb.u16(extInodeSize)
}

func (sb extSuperblock) descSize() uint64 {
	if !sb.is64Bit() {
		return extMinDescSize
	}
	return max(sb.u16(extDescSize), extMinDescSize)
}

// readExtGeometry reads an ext2/3/4 superblock.
func readExtGeometry(r io.ReaderAt) (geometry, error) {
	sb := make(extSuperblock, extSuperblockSize)
	if _, err := r.ReadAt(sb, extSuperblockOffset); err != nil {
		return geometry{}, fmt.Errorf("failed to read the ext superblock: %w", err)
	}
	if sb.u16(extMagic) != extMagicValue || sb.u32(extBlocksPerGroup) == 0 || sb.inodeSize() == 0 {
		return geometry{}, fmt.Errorf("%w: bad ext superblock", errUnknownSuperblock)
	}
	bs := sb.blockSize()
	if sb.blocks() > maxBytes/bs {
		return geometry{}, fmt.Errorf("%w: implausible ext geometry", errUnknownSuperblock)
	}
	return geometry{sizeBytes: clampInt64(sb.blocks() * bs), slack: sb.slackBytes}, nil
}

// slackBytes is an upper bound of the trailing group resize2fs drops from a
// device of deviceBytes: it keeps the last group only when that group holds
// its bookkeeping (bitmaps, inode table, a superblock and descriptor backup)
// plus 50 blocks. A filesystem without 64-bit block numbers cannot outgrow
// 2^32 blocks, so a larger device counts as slack too.
func (sb extSuperblock) slackBytes(deviceBytes int64) int64 {
	bs := sb.blockSize()
	deviceBlocks := uint64(max(deviceBytes, 0)) / bs
	limit := deviceBlocks
	if !sb.is64Bit() {
		limit = min(limit, ext32BitMaxBlocks)
	}
	perGroup := sb.u32(extBlocksPerGroup)
	groups := (limit - min(sb.u32(extFirstDataBlock), limit) + perGroup - 1) / perGroup
	descBlocks := (groups*sb.descSize() + bs - 1) / bs
	inodeBlocks := (sb.u32(extInodesPerGroup)*sb.inodeSize() + bs - 1) / bs
	overhead := 2 + inodeBlocks + 1 + descBlocks + sb.u16(extReservedGDTBlocks)
	return int64(min((deviceBlocks-limit+overhead+extMinLastGroup)*bs, maxBytes))
}

// readXFSGeometry reads an XFS superblock.
func readXFSGeometry(r io.ReaderAt) (geometry, error) {
	sb := make([]byte, xfsSuperblockSz)
	if _, err := r.ReadAt(sb, 0); err != nil {
		return geometry{}, fmt.Errorf("failed to read the xfs superblock: %w", err)
	}
	if binary.BigEndian.Uint32(sb[xfsMagic:]) != xfsMagicValue {
		return geometry{}, fmt.Errorf("%w: bad xfs superblock", errUnknownSuperblock)
	}
	bs := uint64(binary.BigEndian.Uint32(sb[xfsBlockSize:]))
	blocks := binary.BigEndian.Uint64(sb[xfsDataBlocks:])
	if bs == 0 || blocks > maxBytes/bs {
		return geometry{}, fmt.Errorf("%w: implausible xfs geometry", errUnknownSuperblock)
	}
	slack := clampInt64(xfsMinAGBlocks * bs)
	return geometry{sizeBytes: clampInt64(blocks * bs), slack: func(int64) int64 { return slack }}, nil
}
