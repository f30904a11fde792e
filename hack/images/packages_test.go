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

package main

import (
	"slices"
	"testing"
)

// aptOutput is apt-cache depends output in the shape of bookworm's.
const aptOutput = `util-linux
  PreDepends: libc6
  PreDepends: libsystemd0
    libelogind0
  Depends: util-linux-extra
libpam0g
 |Depends: debconf
  Depends: <debconf-2.0>
    cdebconf
    debconf
xfsprogs
  Depends: libc6
  Depends: <python3:any>
    python3
 |Depends: <virtual-a>
  Depends: real-b
<debconf-2.0>
libc6
`

func TestParseDependsKeepsGroupsOfAlternatives(t *testing.T) {
	g := parseDepends([]byte(aptOutput))
	want := map[string][][]string{
		"util-linux":    {{"libc6"}, {"libsystemd0"}, {"util-linux-extra"}},
		"libpam0g":      {{"debconf", "<debconf-2.0>"}},
		"xfsprogs":      {{"libc6"}, {"<python3:any>"}, {"<virtual-a>", "real-b"}},
		"<debconf-2.0>": nil,
		"libc6":         nil,
	}
	for pkg, groups := range want {
		if !slices.EqualFunc(g[pkg], groups, slices.Equal) {
			t.Errorf("%s: got %q, want %q", pkg, g[pkg], groups)
		}
	}
}

func TestChosenTakesTheFirstRealAlternativeAndDropsVirtualOnes(t *testing.T) {
	g := parseDepends([]byte(aptOutput))
	if got, want := chosen(g["xfsprogs"]), []string{"libc6", "real-b"}; !slices.Equal(got, want) {
		t.Errorf("got %q, want %q", got, want)
	}
}

func TestParsePackageListSeparatesExclusions(t *testing.T) {
	l, err := parsePackageList("# comment\ne2fsprogs\n\n  mount \n!dpkg\n")
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(l.roots, []string{"e2fsprogs", "mount"}) || !slices.Equal(l.exclude, []string{"dpkg"}) {
		t.Errorf("got roots %q, exclude %q", l.roots, l.exclude)
	}
	if _, err := parsePackageList("# only a comment\n!dpkg\n"); err == nil {
		t.Error("a list without packages parsed")
	}
}

func TestDebPathsMoveIntoUsr(t *testing.T) {
	for _, tc := range []struct{ in, want, top string }{
		{"./bin/mount", "usr/bin/mount", "bin"},
		{"./lib/", "usr/lib", "lib"},
		{"./lib64/ld-linux-x86-64.so.2", "usr/lib64/ld-linux-x86-64.so.2", "lib64"},
		{"./usr/sbin/mkfs.xfs", "usr/sbin/mkfs.xfs", ""},
		{"./binary/x", "binary/x", ""},
		{"./", "", ""},
	} {
		got, top := usrMerge(cleanName(tc.in))
		if got != tc.want || top != tc.top {
			t.Errorf("%s: got %q (top %q), want %q (top %q)", tc.in, got, top, tc.want, tc.top)
		}
	}
}

func TestDocumentationIsSkipped(t *testing.T) {
	for name, want := range map[string]bool{
		"usr/share/doc": true, "usr/share/doc/e2fsprogs/copyright": true, "usr/share/man/man8/mkfs.8.gz": true,
		"usr/share/locale/de/LC_MESSAGES/util-linux.mo": true, "usr/share/docs": false, "usr/sbin/mkfs": false,
	} {
		if got := isSkipped(name); got != want {
			t.Errorf("isSkipped(%q) = %v, want %v", name, got, want)
		}
	}
}
