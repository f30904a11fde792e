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

// VolumeID identifies a volume. Values of this type are only produced by
// NewVolumeID and ParseVolumeID, so they always have the strict driver format.
type VolumeID string

// SnapshotID identifies a snapshot. Values of this type are only produced by
// NewSnapshotID and ParseSnapshotID, so they always have the strict driver format.
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
