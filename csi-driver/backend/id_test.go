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

package backend_test

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/plinth-dev/plinth/csi-driver/backend"
)

func TestNewVolumeIDIsStableParsableAndDistinctPerName(t *testing.T) {
	a, b := backend.NewVolumeID("pvc-1"), backend.NewVolumeID("pvc-2")
	if a != backend.NewVolumeID("pvc-1") {
		t.Errorf("NewVolumeID is not stable: %s", a)
	}
	if a == b {
		t.Errorf("different names gave the same ID %s", a)
	}
	if _, err := backend.ParseVolumeID(string(a)); err != nil {
		t.Errorf("generated ID does not parse: %v", err)
	}
	if string(backend.NewSnapshotID("pvc-1"))[len("snap-"):] == string(a)[len("vol-"):] {
		t.Errorf("volume and snapshot IDs of one name share a digest")
	}
}

func TestParseVolumeIDAcceptsOnlyTheDriverFormat(t *testing.T) {
	valid := string(backend.NewVolumeID("x"))
	for name, tc := range map[string]struct {
		id string
		ok bool
	}{
		"generated ID":            {valid, true},
		"empty":                   {"", false},
		"path traversal":          {"../../etc/passwd", false},
		"traversal after prefix":  {"vol-../../../../etc/passwd", false},
		"separator inside":        {"vol-0123456789abcdef/123456789abcdef", false},
		"uppercase hex":           {strings.ToUpper(valid[:4]) + strings.ToUpper(valid[4:]), false},
		"one digit short":         {valid[:len(valid)-1], false},
		"one digit long":          {valid + "0", false},
		"snapshot ID":             {string(backend.NewSnapshotID("x")), false},
		"trailing newline":        {valid[:len(valid)-1] + "\n", false},
		"prefix without digits":   {"vol-", false},
		"non-hex letter":          {valid[:len(valid)-1] + "g", false},
		"unicode digit lookalike": {valid[:len(valid)-1] + "١", false},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := backend.ParseVolumeID(tc.id)
			if tc.ok != (err == nil) {
				t.Fatalf("ParseVolumeID(%q) error = %v, want ok=%v", tc.id, err, tc.ok)
			}
			if err != nil && !errors.Is(err, backend.ErrInvalidID) {
				t.Errorf("error %v does not wrap ErrInvalidID", err)
			}
		})
	}
}

func TestParseSnapshotIDRejectsVolumeIDs(t *testing.T) {
	if _, err := backend.ParseSnapshotID(string(backend.NewVolumeID("x"))); !errors.Is(err, backend.ErrInvalidID) {
		t.Errorf("ParseSnapshotID(volume ID) error = %v, want ErrInvalidID", err)
	}
	if _, err := backend.ParseSnapshotID(string(backend.NewSnapshotID("x"))); err != nil {
		t.Errorf("ParseSnapshotID(snapshot ID) error = %v", err)
	}
}

// FuzzParseVolumeID checks that whatever the parser accepts is a single,
// local path element of fixed length, and that generated IDs always parse.
func FuzzParseVolumeID(f *testing.F) {
	for _, seed := range []string{"", "vol-", "../x", string(backend.NewVolumeID("seed")), "vol-0123456789abcdef0123456789abcdeF"} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if _, err := backend.ParseVolumeID(string(backend.NewVolumeID(s))); err != nil {
			t.Fatalf("NewVolumeID(%q) does not parse: %v", s, err)
		}
		id, err := backend.ParseVolumeID(s)
		if err != nil {
			return
		}
		if string(id) != s || len(s) != len("vol-")+32 || !filepath.IsLocal(s) || strings.ContainsAny(s, `/\.`+"\x00") {
			t.Fatalf("ParseVolumeID accepted unsafe %q", s)
		}
	})
}

// FuzzParseSnapshotID is FuzzParseVolumeID for snapshot IDs.
func FuzzParseSnapshotID(f *testing.F) {
	for _, seed := range []string{"", "snap-", "../x", string(backend.NewSnapshotID("seed"))} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, s string) {
		id, err := backend.ParseSnapshotID(s)
		if err != nil {
			return
		}
		if string(id) != s || len(s) != len("snap-")+32 || !filepath.IsLocal(s) || strings.ContainsAny(s, `/\.`+"\x00") {
			t.Fatalf("ParseSnapshotID accepted unsafe %q", s)
		}
	})
}
