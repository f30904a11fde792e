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

package drivertest

import (
	"bytes"
	"encoding/binary"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/sys/unix"
)

// PatternSize is the size of a Pattern.
const PatternSize = 16 << 20

// Pattern returns 16 MiB of pseudo-random bytes; the same seed gives the
// same bytes.
func Pattern(seed uint64) []byte {
	r := rand.New(rand.NewPCG(seed, seed)) //nolint:gosec // test data, not secrets
	b := make([]byte, PatternSize)
	for i := 0; i < len(b); i += 8 {
		binary.LittleEndian.PutUint64(b[i:], r.Uint64())
	}
	return b
}

// WriteFile writes data and fsyncs it, as an application would.
func WriteFile(tb testing.TB, path string, data []byte) {
	tb.Helper()
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		tb.Fatal(err)
	}
	defer func() { _ = f.Close() }()
	if _, err := f.Write(data); err != nil {
		tb.Fatal(err)
	}
	if err := f.Sync(); err != nil {
		tb.Fatal(err)
	}
}

// AssertFile fails the test unless path holds want.
func AssertFile(tb testing.TB, path string, want []byte) {
	tb.Helper()
	got, err := os.ReadFile(path)
	if err != nil {
		tb.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		tb.Fatalf("%s does not hold the expected data", path)
	}
}

// AssertFilesystemSize checks that the filesystem holding path grew to
// nearly size (the filesystem's own metadata takes the rest).
func AssertFilesystemSize(tb testing.TB, path string, size int64) {
	tb.Helper()
	if got := FilesystemSize(tb, path); got < size*9/10 {
		tb.Errorf("filesystem has %d bytes after expansion to %d", got, size)
	}
}

// FilesystemSize returns the size of the filesystem holding path.
func FilesystemSize(tb testing.TB, path string) int64 {
	tb.Helper()
	var st unix.Statfs_t
	if err := unix.Statfs(filepath.Dir(path), &st); err != nil {
		tb.Fatal(err)
	}
	return int64(st.Blocks) * st.Bsize //nolint:gosec // a test filesystem's size fits
}

// HasCapability reports whether the process has capability c in its
// effective set.
func HasCapability(c int) bool {
	hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
	var data [2]unix.CapUserData
	if err := unix.Capget(&hdr, &data[0]); err != nil {
		return false
	}
	return data[c/32].Effective&(1<<(uint(c)%32)) != 0
}
