package ipam

import (
	"crypto/sha256"
	"encoding/hex"
)

// Key identifies a network attachment as the CNI spec does.
type Key struct {
	// ContainerID is CNI_CONTAINERID.
	ContainerID string `json:"containerID"`
	// IfName is CNI_IFNAME, the interface name inside the container.
	IfName string `json:"ifname"`
}

// ID is a stable, file-name-safe digest of the key (32 hex characters).
func (k Key) ID() string {
	sum := sha256.Sum256([]byte(k.ContainerID + "\x00" + k.IfName))
	return hex.EncodeToString(sum[:16])
}
