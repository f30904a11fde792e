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

package backend

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
)

const (
	volumePrefix   = "vol-"
	snapshotPrefix = "snap-"
	// idHexDigits is the number of lowercase hex digits after the prefix:
	// 128 bits of a SHA-256, plenty to make name collisions irrelevant.
	idHexDigits = 32
)

// VolumeID identifies a volume. The driver makes values of this type only
// with NewVolumeID and ParseVolumeID, the latter once per ID a request
// carries, so a backend receives the strict driver format and need not
// parse it again.
type VolumeID string

// SnapshotID identifies a snapshot. The driver makes values of this type
// only with NewSnapshotID and ParseSnapshotID, as it does volume IDs.
type SnapshotID string

// NewVolumeID derives the volume ID for a CSI volume name. The same name
// always gives the same ID, which makes CreateVolume idempotent across
// driver restarts.
func NewVolumeID(name string) VolumeID {
	return VolumeID(volumePrefix + digest("volume", name))
}

// NewSnapshotID derives the snapshot ID for a CSI snapshot name.
func NewSnapshotID(name string) SnapshotID {
	return SnapshotID(snapshotPrefix + digest("snapshot", name))
}

// ParseVolumeID validates s as a volume ID. The error wraps ErrInvalidID.
func ParseVolumeID(s string) (VolumeID, error) {
	if err := parseID(s, volumePrefix); err != nil {
		return "", fmt.Errorf("failed to parse volume ID %q: %w", s, err)
	}
	return VolumeID(s), nil
}

// ParseSnapshotID validates s as a snapshot ID. The error wraps ErrInvalidID.
func ParseSnapshotID(s string) (SnapshotID, error) {
	if err := parseID(s, snapshotPrefix); err != nil {
		return "", fmt.Errorf("failed to parse snapshot ID %q: %w", s, err)
	}
	return SnapshotID(s), nil
}

func digest(kind, name string) string {
	sum := sha256.Sum256([]byte(kind + "\x00" + name))
	return hex.EncodeToString(sum[:])[:idHexDigits]
}

func parseID(s, prefix string) error {
	hexPart, ok := strings.CutPrefix(s, prefix)
	if !ok {
		return fmt.Errorf("%w: want prefix %q", ErrInvalidID, prefix)
	}
	if len(hexPart) != idHexDigits {
		return fmt.Errorf("%w: want %d hex digits after %q", ErrInvalidID, idHexDigits, prefix)
	}
	for _, c := range hexPart {
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return fmt.Errorf("%w: %q is not a lowercase hex digit", ErrInvalidID, c)
		}
	}
	return nil
}
