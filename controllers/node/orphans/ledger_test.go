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

package orphans

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func openLedger(t *testing.T, path string) *Ledger {
	t.Helper()
	l, err := OpenLedger(path)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func TestTheLedgerKeepsItsVolumesAcrossOpens(t *testing.T) {
	path := filepath.Join(t.TempDir(), "missing-dir", LedgerFile)
	l := openLedger(t, path)
	for _, id := range []string{"vol-a", "vol-b", "vol-c", "vol-a"} {
		if err := l.Add(id); err != nil {
			t.Fatal(err)
		}
	}
	if err := l.Remove("vol-b"); err != nil {
		t.Fatal(err)
	}
	if err := l.Remove("vol-unknown"); err != nil {
		t.Fatal(err)
	}
	reopened := openLedger(t, path)
	for id, want := range map[string]bool{"vol-a": true, "vol-b": false, "vol-c": true} {
		if got := reopened.Has(id); got != want {
			t.Errorf("after reopening, Has(%s) = %v, want %v", id, got, want)
		}
	}
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("ledger file: %v, %v; want mode 0600", fi, err)
	}
}

func TestPruneForgetsVolumesThatAreGone(t *testing.T) {
	path := filepath.Join(t.TempDir(), LedgerFile)
	l := openLedger(t, path)
	for _, id := range []string{"vol-gone", "vol-there"} {
		if err := l.Add(id); err != nil {
			t.Fatal(err)
		}
	}
	if err := l.Prune([]string{"vol-there", "vol-other"}); err != nil {
		t.Fatal(err)
	}
	reopened := openLedger(t, path)
	if reopened.Has("vol-gone") || !reopened.Has("vol-there") {
		t.Errorf("after Prune: gone %v (want false), there %v (want true)", reopened.Has("vol-gone"), reopened.Has("vol-there"))
	}
}

func TestAFailedWriteRecordsNothing(t *testing.T) {
	blocker := filepath.Join(t.TempDir(), "plugin")
	l := openLedger(t, filepath.Join(blocker, LedgerFile))
	// The ledger's directory becomes a regular file: every write fails,
	// root's included.
	if err := os.WriteFile(blocker, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := l.Add("vol-a"); err == nil {
		t.Fatal("Add succeeded without writing the ledger's file")
	}
	if l.Has("vol-a") {
		t.Error("a volume whose record failed is in the ledger: the sweep would act on what a restart forgets")
	}
}

func TestACorruptOrOversizedLedgerIsAClearError(t *testing.T) {
	dir := t.TempDir()
	for name, content := range map[string]string{
		"corrupt":   `{"volumes": [`,
		"oversized": `{"volumes": ["` + strings.Repeat("x", maxLedgerBytes) + `"]}`,
	} {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		_, err := OpenLedger(path)
		if err == nil || !strings.Contains(err.Error(), path) {
			t.Errorf("%s ledger: error %v, want one naming %s", name, err, path)
		}
	}
}

func TestAnInMemoryLedgerWritesNothing(t *testing.T) {
	l := openLedger(t, "")
	if err := l.Add("vol-a"); err != nil || !l.Has("vol-a") {
		t.Errorf("in-memory Add: %v, has %v", err, l.Has("vol-a"))
	}
	var none *Ledger
	if none.Has("vol-a") || none.Remove("vol-a") != nil || none.Prune(nil) != nil {
		t.Error("a nil ledger is not empty")
	}
}
