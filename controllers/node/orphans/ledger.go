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
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"sync"

	"github.com/plinth-dev/plinth/internal/atomicfile"
)

// LedgerFile is the ledger's file name in the driver's plugin directory.
const LedgerFile = "abandoned-volumes.json"

// maxLedgerBytes bounds the ledger file read at start.
const maxLedgerBytes = 4 << 20

// Ledger is the set of volumes the provisioner gave up deleting: their
// claims are gone and no PV ever recorded them, so they are provably
// orphans. It is kept in a file on the node, written before the
// provisioner lets the claim go, so a restart of plinth-node cannot turn
// them into orphans that are only reported; a Ledger without a file
// (the zero value) lives in memory.
type Ledger struct {
	path string

	mu  sync.Mutex
	ids map[string]bool
}

// ledgerFile is the ledger's file format.
type ledgerFile struct {
	// Volumes are the IDs of the abandoned volumes, sorted.
	Volumes []string `json:"volumes"`
}

// OpenLedger loads the ledger kept at path; a missing file is an empty
// ledger, created by the first Add.
func OpenLedger(path string) (*Ledger, error) {
	l := &Ledger{path: path, ids: map[string]bool{}}
	data, err := readBounded(path)
	if errors.Is(err, fs.ErrNotExist) {
		return l, nil
	}
	if err != nil {
		return nil, err
	}
	var f ledgerFile
	if err := json.Unmarshal(data, &f); err != nil {
		return nil, fmt.Errorf("failed to parse the abandoned-volume ledger %s (remove it to start afresh; its volumes are then only reported): %w", path, err)
	}
	for _, id := range f.Volumes {
		if id != "" {
			l.ids[id] = true
		}
	}
	return l, nil
}

// readBounded reads the file at path, refusing one over maxLedgerBytes.
func readBounded(path string) ([]byte, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("failed to read the abandoned-volume ledger: %w", err)
	}
	if !fi.Mode().IsRegular() || fi.Size() > maxLedgerBytes {
		return nil, fmt.Errorf("abandoned-volume ledger %s is not a regular file of at most %d bytes", path, maxLedgerBytes)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("failed to read the abandoned-volume ledger: %w", err)
	}
	return data, nil
}

// Add records a volume the provisioner abandoned. Once it returns nil the
// record survives a restart; on an error nothing was recorded.
func (l *Ledger) Add(volumeID string) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.replace(func(ids map[string]bool) { ids[volumeID] = true })
}

// Has reports whether the volume was abandoned.
func (l *Ledger) Has(volumeID string) bool {
	if l == nil {
		return false
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.ids[volumeID]
}

// Remove forgets a volume, once deleted.
func (l *Ledger) Remove(volumeID string) error {
	if l == nil {
		return nil
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.replace(func(ids map[string]bool) { delete(ids, volumeID) })
}

// Prune forgets the volumes that are no longer among existing, the
// driver's volumes: deleted by other means, they have nothing left to
// delete.
func (l *Ledger) Prune(existing []string) error {
	if l == nil {
		return nil
	}
	present := make(map[string]bool, len(existing))
	for _, id := range existing {
		present[id] = true
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.replace(func(ids map[string]bool) {
		maps.DeleteFunc(ids, func(id string, _ bool) bool { return !present[id] })
	})
}

// replace applies change to a copy of the set and, when that added or
// removed a volume, writes the copy to the file and only then makes it the
// ledger's; l.mu is held.
func (l *Ledger) replace(change func(map[string]bool)) error {
	next := maps.Clone(l.ids)
	if next == nil {
		next = map[string]bool{}
	}
	change(next)
	if len(next) == len(l.ids) {
		return nil
	}
	if err := l.persist(next); err != nil {
		return err
	}
	l.ids = next
	return nil
}

// persist writes ids to the ledger's file, if it has one.
func (l *Ledger) persist(ids map[string]bool) error {
	if l.path == "" {
		return nil
	}
	data, err := json.Marshal(ledgerFile{Volumes: slices.Sorted(maps.Keys(ids))})
	if err != nil {
		return fmt.Errorf("failed to encode the abandoned-volume ledger: %w", err)
	}
	if err := os.MkdirAll(filepath.Dir(l.path), 0o750); err != nil {
		return fmt.Errorf("failed to create the abandoned-volume ledger's directory: %w", err)
	}
	if err := atomicfile.Write(l.path, append(data, '\n'), 0o600); err != nil {
		return fmt.Errorf("failed to write the abandoned-volume ledger: %w", err)
	}
	return nil
}
