package ipam_test

import (
	"net/netip"
	"testing"

	"github.com/plinth-dev/plinth/cni-plugin/ipam"
)

// BenchmarkAllocateRelease measures one dual-stack allocation and its
// release with 200 other attachments in the store, fsyncs included.
func BenchmarkAllocateRelease(b *testing.B) {
	s, err := ipam.Open(b.TempDir(), "plinth")
	if err != nil {
		b.Fatal(err)
	}
	ranges := []netip.Prefix{v4, v6}
	for i := range 200 {
		if _, err := s.Allocate(key(i), ranges, ipam.Pod{}); err != nil {
			b.Fatal(err)
		}
	}
	for b.Loop() {
		if _, err := s.Allocate(key(-1), ranges, ipam.Pod{}); err != nil {
			b.Fatal(err)
		}
		if err := s.Release(key(-1)); err != nil {
			b.Fatal(err)
		}
	}
}
