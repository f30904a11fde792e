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

package ipam_test

import (
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/plinth-dev/plinth/cni-plugin/ipam"
)

var (
	v4 = netip.MustParsePrefix("10.244.1.0/24")
	v6 = netip.MustParsePrefix("fd00:10:244:1::/64")
)

func openStore(t *testing.T) *ipam.Store {
	t.Helper()
	s, err := ipam.Open(t.TempDir(), "plinth")
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	return s
}

func key(i int) ipam.Key {
	return ipam.Key{ContainerID: fmt.Sprintf("container-%d", i), IfName: "eth0"}
}

func TestAllocateGivesOneAddressPerFamily(t *testing.T) {
	tests := []struct {
		name   string
		ranges []netip.Prefix
		want   []string
	}{
		{"IPv4", []netip.Prefix{v4}, []string{"10.244.1.1"}},
		{"IPv6", []netip.Prefix{v6}, []string{"fd00:10:244:1::1"}},
		{"dual-stack", []netip.Prefix{v4, v6}, []string{"10.244.1.1", "fd00:10:244:1::1"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, err := openStore(t).Allocate(key(1), tt.ranges, ipam.Pod{})
			if err != nil {
				t.Fatalf("Allocate: %v", err)
			}
			if fmt.Sprint(a.IPs) != fmt.Sprint(tt.want) {
				t.Errorf("IPs = %v, want %v", a.IPs, tt.want)
			}
		})
	}
}

func TestAllocateIsIdempotentPerAttachment(t *testing.T) {
	s := openStore(t)
	first, err := s.Allocate(key(1), []netip.Prefix{v4, v6}, ipam.Pod{})
	if err != nil {
		t.Fatal(err)
	}
	again, err := s.Allocate(key(1), []netip.Prefix{v4, v6}, ipam.Pod{})
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(first) != fmt.Sprint(again) {
		t.Errorf("retried Allocate = %v, want %v", again, first)
	}
	other, err := s.Allocate(ipam.Key{ContainerID: "container-1", IfName: "net1"}, []netip.Prefix{v4}, ipam.Pod{})
	if err != nil {
		t.Fatal(err)
	}
	if other.IPs[0] == first.IPs[0] {
		t.Errorf("second interface of one container got the same address %s", other.IPs[0])
	}
}

func TestAllocateDoesNotReuseReleasedAddressImmediately(t *testing.T) {
	s := openStore(t)
	a, _ := s.Allocate(key(1), []netip.Prefix{v4}, ipam.Pod{})
	if err := s.Release(key(1)); err != nil {
		t.Fatal(err)
	}
	b, _ := s.Allocate(key(2), []netip.Prefix{v4}, ipam.Pod{})
	if a.IPs[0] == b.IPs[0] {
		t.Errorf("released %s was handed out again at once", a.IPs[0])
	}
}

func TestAllocateFailsWhenRangeIsFull(t *testing.T) {
	s := openStore(t)
	small := netip.MustParsePrefix("10.0.0.0/30") // two usable addresses
	for i := range 2 {
		if _, err := s.Allocate(key(i), []netip.Prefix{small}, ipam.Pod{}); err != nil {
			t.Fatalf("Allocate %d: %v", i, err)
		}
	}
	if _, err := s.Allocate(key(3), []netip.Prefix{small}, ipam.Pod{}); !errors.Is(err, ipam.ErrRangeFull) {
		t.Fatalf("Allocate on full range: %v, want ErrRangeFull", err)
	}
	if err := s.Release(key(0)); err != nil {
		t.Fatal(err)
	}
	a, err := s.Allocate(key(3), []netip.Prefix{small}, ipam.Pod{})
	if err != nil || a.IPs[0] != netip.MustParseAddr("10.0.0.1") {
		t.Fatalf("Allocate after release = %v, %v; want the freed 10.0.0.1", a, err)
	}
}

func TestReleaseIsIdempotent(t *testing.T) {
	s := openStore(t)
	if _, err := s.Allocate(key(1), []netip.Prefix{v4}, ipam.Pod{}); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if err := s.Release(key(1)); err != nil {
			t.Fatalf("Release: %v", err)
		}
	}
	if err := s.Release(key(9)); err != nil {
		t.Fatalf("Release of unknown key: %v", err)
	}
	if _, found, _ := s.Get(key(1)); found {
		t.Error("allocation still present after Release")
	}
}

func TestConcurrentAllocationsNeverDuplicate(t *testing.T) {
	s := openStore(t)
	const n = 200
	var wg sync.WaitGroup
	results := make([]ipam.Allocation, n)
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() {
			// A separate Store value per goroutine, like separate plugin processes.
			other, err := ipam.Open(filepath.Dir(ipam.StoreDir(s)), "plinth")
			if err != nil {
				errs[i] = err
				return
			}
			results[i], errs[i] = other.Allocate(key(i), []netip.Prefix{v4, v6}, ipam.Pod{})
		})
	}
	wg.Wait()
	seen := map[netip.Addr]int{}
	for i := range n {
		if errs[i] != nil {
			t.Fatalf("Allocate %d: %v", i, errs[i])
		}
		for _, ip := range results[i].IPs {
			if j, dup := seen[ip]; dup {
				t.Fatalf("%s given to both %d and %d", ip, j, i)
			}
			seen[ip] = i
		}
	}
	if all, _ := s.List(); len(all) != n {
		t.Errorf("store holds %d allocations, want %d", len(all), n)
	}
}

func TestGCReleasesOnlyInvalidAttachments(t *testing.T) {
	s := openStore(t)
	for i := range 4 {
		if _, err := s.Allocate(key(i), []netip.Prefix{v4}, ipam.Pod{}); err != nil {
			t.Fatal(err)
		}
	}
	var cleaned []string
	released, err := s.GC([]ipam.Key{key(0), key(2)}, func(a ipam.Allocation) error {
		cleaned = append(cleaned, a.ID)
		return nil
	})
	if err != nil || len(released) != 2 || len(cleaned) != 2 {
		t.Fatalf("GC released %v (cleaned %v), err %v; want 2", released, cleaned, err)
	}
	for i, want := range []bool{true, false, true, false} {
		if _, found, _ := s.Get(key(i)); found != want {
			t.Errorf("attachment %d present = %v, want %v", i, found, want)
		}
	}
}

func TestGCKeepsAllocationWhenCleanupFails(t *testing.T) {
	s := openStore(t)
	for i := range 2 {
		if _, err := s.Allocate(key(i), []netip.Prefix{v4}, ipam.Pod{}); err != nil {
			t.Fatal(err)
		}
	}
	failing := key(0).ID()
	released, err := s.GC(nil, func(a ipam.Allocation) error {
		if a.ID == failing {
			return errors.New("link busy")
		}
		return nil
	})
	if err == nil || len(released) != 1 {
		t.Fatalf("GC = %v, %v; want one release and an error", released, err)
	}
	if _, found, _ := s.Get(key(0)); !found {
		t.Error("allocation released although its cleanup failed")
	}
}

func TestStaleTemporaryFilesAreRemoved(t *testing.T) {
	s := openStore(t)
	stale := filepath.Join(ipam.StoreDir(s), ".tmp-123")
	if err := os.WriteFile(stale, []byte("{"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Allocate(key(1), []netip.Prefix{v4}, ipam.Pod{}); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(stale); !os.IsNotExist(err) {
		t.Errorf("stale temp file survived: %v", err)
	}
}

func TestAllocationSurvivesReopen(t *testing.T) {
	dir := t.TempDir()
	s1, _ := ipam.Open(dir, "plinth")
	a, err := s1.Allocate(key(1), []netip.Prefix{v4}, ipam.Pod{})
	if err != nil {
		t.Fatal(err)
	}
	s2, _ := ipam.Open(dir, "plinth")
	got, found, err := s2.Get(key(1))
	if err != nil || !found || got.IPs[0] != a.IPs[0] {
		t.Fatalf("after reopen Get = %v, %v, %v; want %v", got, found, err, a)
	}
	b, _ := s2.Allocate(key(2), []netip.Prefix{v4}, ipam.Pod{})
	if b.IPs[0] == a.IPs[0] {
		t.Fatal("reopened store handed out an allocated address")
	}
}
