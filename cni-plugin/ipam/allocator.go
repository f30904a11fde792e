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
	"errors"
	"fmt"
	"net/netip"
)

// ErrRangeFull reports that a pod CIDR has no free address left.
var ErrRangeFull = errors.New("no free address in range")

// usable reports whether addr may be given to a pod: inside the prefix and,
// for IPv4, neither the network nor the broadcast address; for IPv6 not the
// subnet-router anycast address.
func usable(p netip.Prefix, addr netip.Addr) bool {
	if !p.Contains(addr) || addr == p.Addr() {
		return false
	}
	return !addr.Is4() || addr != lastAddr(p)
}

// lastAddr returns the highest address of the prefix.
func lastAddr(p netip.Prefix) netip.Addr {
	b := p.Addr().AsSlice()
	bits := p.Bits()
	for i := range b {
		for bit := 7; bit >= 0; bit-- {
			if i*8+(7-bit) >= bits {
				b[i] |= 1 << bit
			}
		}
	}
	last, _ := netip.AddrFromSlice(b)
	return last
}

// nextFree returns the first usable address after last that is not in used,
// wrapping around the prefix once. Starting after the previous allocation
// avoids handing a just-released address to the next pod while stale
// connections to it may still be in flight.
func nextFree(p netip.Prefix, last netip.Addr, used map[netip.Addr]bool) (netip.Addr, error) {
	addr := last
	if !p.Contains(addr) {
		addr = p.Addr()
	}
	for range candidates(p, len(used)) {
		addr = addr.Next()
		if !addr.IsValid() || !p.Contains(addr) {
			addr = p.Addr()
		}
		if usable(p, addr) && !used[addr] {
			return addr, nil
		}
	}
	return netip.Addr{}, fmt.Errorf("failed to allocate from %s: %w", p, ErrRangeFull)
}

// candidates bounds the search: among inUse+3 consecutive addresses at least
// one is free unless the prefix itself is smaller than that.
func candidates(p netip.Prefix, inUse int) int {
	limit := inUse + 3
	if hostBits := p.Addr().BitLen() - p.Bits(); hostBits < 31 && 1<<hostBits < limit {
		return 1 << hostBits
	}
	return limit
}
