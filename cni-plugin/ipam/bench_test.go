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
