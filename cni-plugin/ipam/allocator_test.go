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
	"net/netip"
	"testing"
)

func TestNextFreeSkipsReservedAndWraps(t *testing.T) {
	p := netip.MustParsePrefix("10.0.0.0/29") // .1-.6 usable
	a := netip.MustParseAddr
	tests := []struct {
		name string
		last netip.Addr
		used []string
		want string
	}{
		{"empty range starts at first host", netip.Addr{}, nil, "10.0.0.1"},
		{"continues after last", a("10.0.0.3"), nil, "10.0.0.4"},
		{"skips used", a("10.0.0.3"), []string{"10.0.0.4", "10.0.0.5"}, "10.0.0.6"},
		{"wraps past broadcast", a("10.0.0.6"), nil, "10.0.0.1"},
		{"last outside range restarts", a("192.168.0.1"), nil, "10.0.0.1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			used := map[netip.Addr]bool{}
			for _, u := range tt.used {
				used[a(u)] = true
			}
			got, err := nextFree(p, tt.last, used)
			if err != nil || got != a(tt.want) {
				t.Errorf("nextFree = %v, %v; want %s", got, err, tt.want)
			}
		})
	}
}

func TestNextFreeIPv6WrapsAtEndOfAddressSpace(t *testing.T) {
	p := netip.MustParsePrefix("ffff:ffff:ffff:ffff:ffff:ffff:ffff:fff0/124")
	got, err := nextFree(p, netip.MustParseAddr("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"), nil)
	if err != nil || got != netip.MustParseAddr("ffff:ffff:ffff:ffff:ffff:ffff:ffff:fff1") {
		t.Errorf("nextFree = %v, %v", got, err)
	}
}
