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

package netpol

import (
	"fmt"
	"net/netip"
	"slices"
)

// AddrRange is the inclusive range of addresses from First to Last, both of
// one family.
type AddrRange struct {
	First, Last netip.Addr
}

// String renders the range as nftables writes an interval set element.
func (r AddrRange) String() string {
	if r.First == r.Last {
		return r.First.String()
	}
	return r.First.String() + "-" + r.Last.String()
}

// Contains reports whether a is in the range.
func (r AddrRange) Contains(a netip.Addr) bool {
	return a.BitLen() == r.First.BitLen() && r.First.Compare(a) <= 0 && a.Compare(r.Last) <= 0
}

// prefixRange returns the addresses of p.
func prefixRange(p netip.Prefix) AddrRange {
	p = p.Masked()
	first := p.Addr()
	b := first.AsSlice()
	for i := p.Bits(); i < len(b)*8; i++ {
		b[i/8] |= 1 << (7 - i%8)
	}
	last, _ := netip.AddrFromSlice(b)
	return AddrRange{First: first, Last: last}
}

// parseCIDR parses an ipBlock CIDR or except entry.
func parseCIDR(s string) (netip.Prefix, error) {
	p, err := netip.ParsePrefix(s)
	if err != nil {
		return netip.Prefix{}, fmt.Errorf("invalid CIDR %q: %w", s, err)
	}
	if p.Addr().Is4In6() {
		return netip.Prefix{}, fmt.Errorf("invalid CIDR %q: IPv4-mapped IPv6", s)
	}
	return p, nil
}

// subtract returns the parts of r outside ex.
func subtract(r, ex AddrRange) []AddrRange {
	if r.First.BitLen() != ex.First.BitLen() || ex.Last.Less(r.First) || r.Last.Less(ex.First) {
		return []AddrRange{r}
	}
	var out []AddrRange
	if r.First.Less(ex.First) {
		out = append(out, AddrRange{First: r.First, Last: ex.First.Prev()})
	}
	if ex.Last.Less(r.Last) {
		out = append(out, AddrRange{First: ex.Last.Next(), Last: r.Last})
	}
	return out
}

// blockRanges returns the addresses of cidr minus those of except.
func blockRanges(cidr netip.Prefix, except []netip.Prefix) []AddrRange {
	out := []AddrRange{prefixRange(cidr)}
	for _, e := range except {
		next := make([]AddrRange, 0, len(out)+1)
		for _, r := range out {
			next = append(next, subtract(r, prefixRange(e))...)
		}
		out = next
	}
	return out
}

// normalize sorts ranges and merges the overlapping and adjacent ones, so
// that an nftables interval set accepts them as its elements.
func normalize(rs []AddrRange) []AddrRange {
	if len(rs) == 0 {
		return nil
	}
	rs = slices.Clone(rs)
	slices.SortFunc(rs, func(a, b AddrRange) int { return a.First.Compare(b.First) })
	out := []AddrRange{rs[0]}
	for _, r := range rs[1:] {
		last := &out[len(out)-1]
		next := last.Last.Next()
		if r.First.BitLen() != last.First.BitLen() || next.IsValid() && next.Less(r.First) {
			out = append(out, r)
			continue
		}
		if last.Last.Less(r.Last) {
			last.Last = r.Last
		}
	}
	return out
}
