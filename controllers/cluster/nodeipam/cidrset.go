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

package nodeipam

import (
	"cmp"
	"fmt"
	"math/big"
	"net/netip"
	"slices"
)

// maxBlockBits caps the number of node blocks of one pod CIDR at 2^62: a
// range with more blocks (an IPv6 /48 split into /126s) uses its first 2^62,
// which no cluster will ever exhaust, and the counts still fit in an int64.
const maxBlockBits = 62

// span is a run of consecutive blocks held by one node.
type span struct {
	first, count uint64
	node         string
}

// cidrSet hands out the blocks of one pod CIDR. It records which node holds
// which blocks as spans, so that a node CIDR of a size other than the node
// mask (set by someone else) still marks every block it overlaps as taken.
type cidrSet struct {
	base     netip.Prefix
	maskSize int
	size     uint64
	spans    []span
}

// newCIDRSet returns an empty set of the maskSize blocks of base.
func newCIDRSet(base netip.Prefix, maskSize int) (*cidrSet, error) {
	base = base.Masked()
	if maskSize <= base.Bits() || maskSize > base.Addr().BitLen() {
		return nil, fmt.Errorf("failed to split %s: node mask size /%d must be longer than the range and at most /%d",
			base, maskSize, base.Addr().BitLen())
	}
	bits := min(maskSize-base.Bits(), maxBlockBits)
	return &cidrSet{base: base, maskSize: maskSize, size: uint64(1) << bits}, nil
}

// hostBits is the number of address bits inside one block.
func (s *cidrSet) hostBits() uint {
	return uint(s.base.Addr().BitLen() - s.maskSize)
}

// block returns block number i.
func (s *cidrSet) block(i uint64) netip.Prefix {
	offset := new(big.Int).Lsh(new(big.Int).SetUint64(i), s.hostBits())
	addr := fromInt(new(big.Int).Add(toInt(s.base.Addr()), offset), s.base.Addr().Is4())
	return netip.PrefixFrom(addr, s.maskSize)
}

// spanOf returns the blocks p overlaps, and false when p lies outside base or
// beyond the blocks the set uses.
func (s *cidrSet) spanOf(p netip.Prefix) (span, bool) {
	p = p.Masked()
	if p.Addr().Is4() != s.base.Addr().Is4() || p.Bits() < s.base.Bits() || !s.base.Contains(p.Addr()) {
		return span{}, false
	}
	offset := new(big.Int).Sub(toInt(p.Addr()), toInt(s.base.Addr()))
	first := offset.Rsh(offset, s.hostBits())
	if !first.IsUint64() || first.Uint64() >= s.size {
		return span{}, false
	}
	count := uint64(1)
	if wider := s.maskSize - p.Bits(); wider > 0 {
		count = uint64(1) << min(wider, maxBlockBits)
	}
	return span{first: first.Uint64(), count: min(count, s.size-first.Uint64())}, true
}

// add records sp and returns the nodes that already hold any of its blocks.
func (s *cidrSet) add(sp span) []string {
	var holders []string
	for _, other := range s.spans {
		if other.node != sp.node && sp.first < other.first+other.count && other.first < sp.first+sp.count {
			holders = append(holders, other.node)
		}
	}
	s.spans = append(s.spans, sp)
	return holders
}

// release forgets every block node holds.
func (s *cidrSet) release(node string) {
	s.spans = slices.DeleteFunc(s.spans, func(sp span) bool { return sp.node == node })
}

// firstFree returns the lowest block nobody holds, and false when the set is
// exhausted.
func (s *cidrSet) firstFree() (uint64, bool) {
	next := uint64(0)
	for _, sp := range s.sorted() {
		if sp.first > next {
			return next, true
		}
		next = max(next, sp.first+sp.count)
	}
	return next, next < s.size
}

// allocated returns the number of distinct blocks held.
func (s *cidrSet) allocated() uint64 {
	var total, next uint64
	for _, sp := range s.sorted() {
		end := sp.first + sp.count
		if end > next {
			total += end - max(next, sp.first)
			next = end
		}
	}
	return total
}

// sorted returns the spans ordered by their first block.
func (s *cidrSet) sorted() []span {
	spans := slices.Clone(s.spans)
	slices.SortFunc(spans, func(a, b span) int { return cmp.Compare(a.first, b.first) })
	return spans
}

// toInt returns addr as an integer; IPv4 addresses count from 0.0.0.0.
func toInt(addr netip.Addr) *big.Int {
	return new(big.Int).SetBytes(addr.AsSlice())
}

// fromInt is the inverse of toInt.
func fromInt(n *big.Int, is4 bool) netip.Addr {
	if is4 {
		var b [4]byte
		return netip.AddrFrom4([4]byte(n.FillBytes(b[:])))
	}
	var b [16]byte
	return netip.AddrFrom16([16]byte(n.FillBytes(b[:])))
}
