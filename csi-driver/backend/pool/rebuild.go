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

package pool

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/plinth-dev/plinth/csi-driver/backend"
	"github.com/plinth-dev/plinth/internal/atomicfile"
)

// rebuild loads every committed object and removes what interrupted
// operations left behind: temporary files (atomicfile's, and those of
// versions before it), and data files whose metadata was never written
// (crash during create) or already removed (crash during delete).
func (p *Pool) rebuild() error {
	if err := p.rebuildKind(volumesDir, p.loadVolume); err != nil {
		return err
	}
	return p.rebuildKind(snapshotsDir, p.loadSnapshot)
}

func (p *Pool) rebuildKind(kindDir string, load func(id, path string) error) error {
	dir := filepath.Join(p.dir, kindDir)
	entries, err := os.ReadDir(dir)
	if err != nil {
		return fmt.Errorf("failed to list %s: %w", dir, err)
	}
	committed := map[string]bool{}
	for _, e := range entries {
		if id, ok := strings.CutSuffix(e.Name(), metaExt); ok {
			if err := load(id, filepath.Join(dir, e.Name())); err != nil {
				return err
			}
			committed[id] = true
		}
	}
	for _, e := range entries {
		if err := p.sweep(dir, e.Name(), committed); err != nil {
			return err
		}
	}
	return nil
}

// sweep removes name when it is a leftover of an interrupted operation.
func (p *Pool) sweep(dir, name string, committed map[string]bool) error {
	id, isData := strings.CutSuffix(name, dataExt)
	temporary := strings.HasPrefix(name, atomicfile.TempPrefix) || strings.HasSuffix(name, legacyTmpSuffix)
	leftover := temporary || (isData && !committed[id])
	if !leftover {
		return nil
	}
	p.log.Info("Removing leftover of an interrupted operation", "file", filepath.Join(dir, name))
	if err := os.Remove(filepath.Join(dir, name)); err != nil {
		return fmt.Errorf("failed to remove leftover %s: %w", name, err)
	}
	return nil
}

func (p *Pool) loadVolume(id, path string) error {
	var v backend.Volume
	if err := readJSON(path, &v); err != nil {
		return err
	}
	if _, err := backend.ParseVolumeID(id); err != nil || string(v.ID) != id {
		return fmt.Errorf("failed to load %s: metadata of volume %q does not match its file name", path, v.ID)
	}
	p.volumes[v.ID] = v
	return nil
}

func (p *Pool) loadSnapshot(id, path string) error {
	var s backend.Snapshot
	if err := readJSON(path, &s); err != nil {
		return err
	}
	if _, err := backend.ParseSnapshotID(id); err != nil || string(s.ID) != id {
		return fmt.Errorf("failed to load %s: metadata of snapshot %q does not match its file name", path, s.ID)
	}
	p.snapshots[s.ID] = s
	return nil
}
