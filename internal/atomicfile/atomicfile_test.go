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

package atomicfile_test

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"

	"github.com/plinth-dev/plinth/internal/atomicfile"
)

func TestWriteReplacesContentAndPermissions(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state")
	for _, content := range []string{"old", "new"} {
		if err := atomicfile.Write(path, []byte(content), 0o640); err != nil {
			t.Fatal(err)
		}
	}
	assertContent(t, path, "new")
	if info, err := os.Stat(path); err != nil || info.Mode().Perm() != 0o640 {
		t.Errorf("mode %v (%v), want 0640", info.Mode().Perm(), err)
	}
	assertOnlyFile(t, path)
}

func TestCreateNeverReplaces(t *testing.T) {
	path := filepath.Join(t.TempDir(), "plugin")
	if err := atomicfile.Create(path, []byte("first"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := atomicfile.Create(path, []byte("second"), 0o755); !errors.Is(err, fs.ErrExist) {
		t.Errorf("second Create: error %v, want fs.ErrExist", err)
	}
	assertContent(t, path, "first")
	assertOnlyFile(t, path)
}

func TestWriteFuncThatFailsLeavesTheOldContent(t *testing.T) {
	path := filepath.Join(t.TempDir(), "data")
	if err := atomicfile.Write(path, []byte("old"), 0o600); err != nil {
		t.Fatal(err)
	}
	boom := errors.New("boom")
	err := atomicfile.WriteFunc(path, 0o600, func(f *os.File) error {
		_, _ = f.WriteString("half of the new")
		return boom
	})
	if !errors.Is(err, boom) {
		t.Errorf("error %v, want the fill function's", err)
	}
	assertContent(t, path, "old")
	assertOnlyFile(t, path)
}

func TestRemoveOfAMissingFileSucceeds(t *testing.T) {
	path := filepath.Join(t.TempDir(), "gone")
	if err := atomicfile.Write(path, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if err := atomicfile.Remove(path); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Errorf("stat after Remove: %v, want not exist", err)
	}
}

func assertContent(t *testing.T, path, want string) {
	t.Helper()
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != want {
		t.Errorf("%s holds %q, want %q", path, got, want)
	}
}

// assertOnlyFile checks that no temporary file is left next to path.
func assertOnlyFile(t *testing.T, path string) {
	t.Helper()
	entries, err := os.ReadDir(filepath.Dir(path))
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 || entries[0].Name() != filepath.Base(path) {
		t.Errorf("directory holds %v, want only %s", entries, filepath.Base(path))
	}
}
