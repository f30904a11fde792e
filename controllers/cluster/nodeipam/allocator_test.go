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
	"errors"
	"net/netip"
	"slices"
	"testing"
)

type occupied struct {
	node  string
	cidrs []string
}

func prefixes(t *testing.T, cidrs ...string) []netip.Prefix {
	t.Helper()
	out, err := parsePrefixes(cidrs)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func strs(ps []netip.Prefix) []string {
	out := make([]string, len(ps))
	for i, p := range ps {
		out[i] = p.String()
	}
	return out
}

func TestAllocatorHandsOutDistinctBlocks(t *testing.T) {
	tests := []struct {
		name      string
		podCIDRs  []string
		mask4     int
		mask6     int
		existing  []occupied
		allocate  []string
		want      map[string][]string // nil value: exhausted
		wantOcc   map[string]occupation
		wantUsage []usage
	}{
		{
			name: "IPv4 blocks in order", podCIDRs: []string{"10.0.0.0/22"}, mask4: 24,
			allocate:  []string{"a", "b"},
			want:      map[string][]string{"a": {"10.0.0.0/24"}, "b": {"10.0.1.0/24"}},
			wantUsage: []usage{{podCIDR: netip.MustParsePrefix("10.0.0.0/22"), allocated: 2, free: 2}},
		},
		{
			name: "IPv6 blocks in order", podCIDRs: []string{"fd00:10::/62"}, mask6: 64,
			allocate:  []string{"a", "b"},
			want:      map[string][]string{"a": {"fd00:10::/64"}, "b": {"fd00:10:0:1::/64"}},
			wantUsage: []usage{{podCIDR: netip.MustParsePrefix("fd00:10::/62"), allocated: 2, free: 2}},
		},
		{
			name: "dual-stack gives one block per family", podCIDRs: []string{"10.0.0.0/16", "fd00:10::/48"}, mask4: 24, mask6: 64,
			allocate: []string{"a", "b"},
			want: map[string][]string{
				"a": {"10.0.0.0/24", "fd00:10::/64"},
				"b": {"10.0.1.0/24", "fd00:10:0:1::/64"},
			},
			wantUsage: []usage{
				{podCIDR: netip.MustParsePrefix("10.0.0.0/16"), allocated: 2, free: 254},
				{podCIDR: netip.MustParsePrefix("fd00:10::/48"), allocated: 2, free: 65534},
			},
		},
		{
			name: "exhaustion refuses the next node", podCIDRs: []string{"10.0.0.0/23"}, mask4: 24,
			allocate:  []string{"a", "b", "c"},
			want:      map[string][]string{"a": {"10.0.0.0/24"}, "b": {"10.0.1.0/24"}, "c": nil},
			wantUsage: []usage{{podCIDR: netip.MustParsePrefix("10.0.0.0/23"), allocated: 2, free: 0}},
		},
		{
			name: "dual-stack exhaustion of one family takes nothing from the other", podCIDRs: []string{"10.0.0.0/22", "fd00:10::/63"}, mask4: 24, mask6: 64,
			allocate: []string{"a", "b", "c"},
			want: map[string][]string{
				"a": {"10.0.0.0/24", "fd00:10::/64"}, "b": {"10.0.1.0/24", "fd00:10:0:1::/64"}, "c": nil,
			},
			wantUsage: []usage{
				{podCIDR: netip.MustParsePrefix("10.0.0.0/22"), allocated: 2, free: 2},
				{podCIDR: netip.MustParsePrefix("fd00:10::/63"), allocated: 2, free: 0},
			},
		},
		{
			name: "pre-existing blocks are skipped", podCIDRs: []string{"10.0.0.0/22"}, mask4: 24,
			existing: []occupied{{"x", []string{"10.0.0.0/24"}}, {"y", []string{"10.0.2.0/24"}}},
			allocate: []string{"a", "b", "c"},
			want:     map[string][]string{"a": {"10.0.1.0/24"}, "b": {"10.0.3.0/24"}, "c": nil},
			wantOcc:  map[string]occupation{"x": {}, "y": {}},
		},
		{
			name: "a pre-existing CIDR wider than a block takes every block it covers", podCIDRs: []string{"10.0.0.0/22"}, mask4: 24,
			existing:  []occupied{{"x", []string{"10.0.0.0/23"}}},
			allocate:  []string{"a"},
			want:      map[string][]string{"a": {"10.0.2.0/24"}},
			wantUsage: []usage{{podCIDR: netip.MustParsePrefix("10.0.0.0/22"), allocated: 3, free: 1}},
		},
		{
			name: "a pre-existing CIDR narrower than a block takes its block", podCIDRs: []string{"10.0.0.0/22"}, mask4: 24,
			existing: []occupied{{"x", []string{"10.0.0.128/25"}}},
			allocate: []string{"a"},
			want:     map[string][]string{"a": {"10.0.1.0/24"}},
		},
		{
			name: "CIDRs outside the range are reported and take nothing", podCIDRs: []string{"10.0.0.0/22", "fd00:10::/62"}, mask4: 24, mask6: 64,
			existing: []occupied{{"x", []string{"192.168.0.0/24", "fd00:99::/64"}}, {"y", []string{"10.0.0.0/24", "fd00:99::/64"}}},
			allocate: []string{"a"},
			want:     map[string][]string{"a": {"10.0.1.0/24", "fd00:10::/64"}},
			wantOcc: map[string]occupation{
				"x": {outside: prefixes(t, "192.168.0.0/24", "fd00:99::/64")},
				"y": {outside: prefixes(t, "fd00:99::/64")},
			},
		},
		{
			name: "overlapping pre-existing CIDRs are reported and both stay taken", podCIDRs: []string{"10.0.0.0/22"}, mask4: 24,
			existing: []occupied{{"x", []string{"10.0.0.0/24"}}, {"y", []string{"10.0.0.0/23"}}},
			allocate: []string{"a"},
			want:     map[string][]string{"a": {"10.0.2.0/24"}},
			wantOcc:  map[string]occupation{"x": {}, "y": {sharedWith: []string{"x"}}},
		},
		{
			name: "allocating twice for a node returns its blocks", podCIDRs: []string{"10.0.0.0/22"}, mask4: 24,
			allocate:  []string{"a", "a"},
			want:      map[string][]string{"a": {"10.0.0.0/24"}},
			wantUsage: []usage{{podCIDR: netip.MustParsePrefix("10.0.0.0/22"), allocated: 1, free: 3}},
		},
		{
			name: "small IPv4 blocks", podCIDRs: []string{"10.0.0.0/8"}, mask4: 30,
			allocate:  []string{"a", "b"},
			want:      map[string][]string{"a": {"10.0.0.0/30"}, "b": {"10.0.0.4/30"}},
			wantUsage: []usage{{podCIDR: netip.MustParsePrefix("10.0.0.0/8"), allocated: 2, free: 1<<22 - 2}},
		},
		{
			name: "huge IPv6 ranges are capped at 2^62 blocks", podCIDRs: []string{"fd00::/48"}, mask6: 126,
			allocate:  []string{"a", "b"},
			want:      map[string][]string{"a": {"fd00::/126"}, "b": {"fd00::4/126"}},
			wantUsage: []usage{{podCIDR: netip.MustParsePrefix("fd00::/48"), allocated: 2, free: 1<<62 - 2}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, err := newAllocator(prefixes(t, tt.podCIDRs...), tt.mask4, tt.mask6)
			if err != nil {
				t.Fatal(err)
			}
			for _, e := range tt.existing {
				occ := a.occupy(e.node, prefixes(t, e.cidrs...))
				if want, ok := tt.wantOcc[e.node]; ok && !equalOccupation(occ, want) {
					t.Errorf("occupy(%s) = %+v, want %+v", e.node, occ, want)
				}
			}
			for _, node := range tt.allocate {
				got, err := a.allocate(node)
				want := tt.want[node]
				if want == nil {
					if !errors.Is(err, errExhausted) {
						t.Errorf("allocate(%s) = %v, %v; want exhausted", node, got, err)
					}
					continue
				}
				if err != nil || !slices.Equal(strs(got), want) {
					t.Errorf("allocate(%s) = %v, %v; want %v", node, got, err, want)
				}
			}
			if tt.wantUsage != nil && !slices.Equal(a.usage(), tt.wantUsage) {
				t.Errorf("usage() = %+v, want %+v", a.usage(), tt.wantUsage)
			}
		})
	}
}

func equalOccupation(a, b occupation) bool {
	return slices.Equal(a.outside, b.outside) && slices.Equal(a.sharedWith, b.sharedWith)
}

func TestAllocatorReusesABlockOnlyAfterRelease(t *testing.T) {
	a, err := newAllocator(prefixes(t, "10.0.0.0/23", "fd00::/63"), 24, 64)
	if err != nil {
		t.Fatal(err)
	}
	for _, node := range []string{"a", "b"} {
		if _, err := a.allocate(node); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := a.allocate("c"); !errors.Is(err, errExhausted) {
		t.Fatalf("allocate(c) before release: err = %v, want exhausted", err)
	}
	freed := a.blocks("a")
	a.release("a")
	got, err := a.allocate("c")
	if err != nil || !slices.Equal(got, freed) {
		t.Fatalf("allocate(c) after release = %v, %v; want a's blocks %v", got, err, freed)
	}
	if names := a.nodeNames(); !slices.Equal(names, []string{"b", "c"}) {
		t.Errorf("nodeNames() = %v, want [b c]", names)
	}
}

func TestAllocatorOccupyReplacesWhatWasKnownOfTheNode(t *testing.T) {
	a, err := newAllocator(prefixes(t, "10.0.0.0/22"), 24, 64)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.allocate("a"); err != nil { // reserved 10.0.0.0/24
		t.Fatal(err)
	}
	// Someone else gave the node another block before our write landed.
	a.occupy("a", prefixes(t, "10.0.2.0/24"))
	got, err := a.allocate("b")
	if err != nil || !slices.Equal(strs(got), []string{"10.0.0.0/24"}) {
		t.Fatalf("allocate(b) = %v, %v; want the block a no longer holds", got, err)
	}
}

func TestNewCIDRSetRejectsMaskNotLongerThanRange(t *testing.T) {
	for _, tc := range []struct {
		cidr string
		mask int
	}{{"10.0.0.0/24", 24}, {"10.0.0.0/24", 16}, {"10.0.0.0/8", 33}, {"fd00::/64", 129}} {
		if _, err := newCIDRSet(netip.MustParsePrefix(tc.cidr), tc.mask); err == nil {
			t.Errorf("newCIDRSet(%s, %d) succeeded, want an error", tc.cidr, tc.mask)
		}
	}
}
