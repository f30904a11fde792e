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
