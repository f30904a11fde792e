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
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/plinth-dev/plinth/cni-plugin/ipam"
)

func TestReservationsRecordPodAndTime(t *testing.T) {
	s := openStore(t)
	pod := ipam.Pod{Namespace: "ns", Name: "web-0", UID: "uid-1"}
	before := time.Now()
	a, err := s.Allocate(key(1), []netip.Prefix{v4, v6}, pod)
	if err != nil {
		t.Fatal(err)
	}
	rs, err := s.Reservations()
	if err != nil || len(rs) != 1 {
		t.Fatalf("Reservations = %v, %v; want one", rs, err)
	}
	r := rs[0]
	if r.ID != a.ID || r.Key != key(1) || r.Pod != pod || !r.Pod.Known() {
		t.Errorf("reservation %+v, want key %v and pod %v", r, key(1), pod)
	}
	if r.Created.Before(before.Add(-time.Second)) || r.Created.After(time.Now()) {
		t.Errorf("reserved at %v, want about %v", r.Created, before)
	}
}

// Records written before pods and times were kept stay readable, as
// reservations of an unknown pod.
func TestReservationsReadOldRecordsAsUnknownPod(t *testing.T) {
	s := openStore(t)
	name := key(1).ID() + "_10.244.1.7"
	old := `{"containerID":"container-1","ifname":"eth0","ips":["10.244.1.7"]}`
	if err := os.WriteFile(filepath.Join(ipam.StoreDir(s), name), []byte(old), 0o600); err != nil {
		t.Fatal(err)
	}
	rs, err := s.Reservations()
	if err != nil || len(rs) != 1 {
		t.Fatalf("Reservations = %v, %v; want one", rs, err)
	}
	if r := rs[0]; r.Pod.Known() || !r.Created.IsZero() || r.Key != key(1) || r.IPs[0] != netip.MustParseAddr("10.244.1.7") {
		t.Errorf("old record read as %+v, want unknown pod and time", r)
	}
}

func TestReleaseUnchangedSkipsReservationsMadeMeanwhile(t *testing.T) {
	s := openStore(t)
	for i := range 2 {
		if _, err := s.Allocate(key(i), []netip.Prefix{v4}, ipam.Pod{Namespace: "ns", Name: "p", UID: "u"}); err != nil {
			t.Fatal(err)
		}
	}
	seen, err := s.Reservations()
	if err != nil {
		t.Fatal(err)
	}
	// Attachment 0 is released and made again (same key, new reservation)
	// between the read and the release.
	if err := s.Release(key(0)); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Allocate(key(0), []netip.Prefix{v4}, ipam.Pod{}); err != nil {
		t.Fatal(err)
	}
	var cleaned int
	released, err := s.ReleaseUnchanged(seen, func(ipam.Allocation) error { cleaned++; return nil })
	if err != nil || len(released) != 1 || released[0].Key != key(1) || cleaned != 1 {
		t.Fatalf("ReleaseUnchanged = %v, %v (cleaned %d); want only attachment 1", released, err, cleaned)
	}
	if _, found, _ := s.Get(key(0)); !found {
		t.Error("the new reservation of attachment 0 was released")
	}
}
