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

package atomicfile

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// TempPrefix starts the name of every temporary file this package creates; a
// directory's owner may remove such files left by a writer that died.
const TempPrefix = ".tmp-"

// Write replaces path with data: temporary file in the same directory,
// fsync, rename, fsync of the directory.
func Write(path string, data []byte, perm os.FileMode) error {
	return WriteFunc(path, perm, writeData(data))
}

// WriteFunc is Write for content that fill produces into the temporary file,
// such as a copy of another file. When fill fails, path is left as it was.
func WriteFunc(path string, perm os.FileMode, fill func(*os.File) error) error {
	return publish(path, perm, fill, os.Rename, "replace")
}

// Create is Write that never replaces: when path exists it fails with an
// error that matches fs.ErrExist. The file appears whole, by a hard link.
func Create(path string, data []byte, perm os.FileMode) error {
	return publish(path, perm, writeData(data), os.Link, "create")
}

// Remove removes path durably; a missing path is already removed.
func Remove(path string) error {
	if err := os.Remove(path); err != nil && !os.IsNotExist(err) {
		return fmt.Errorf("failed to remove %s: %w", path, err)
	}
	return SyncDir(filepath.Dir(path))
}

// SyncDir makes renames and removals in dir durable.
func SyncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("failed to open %s: %w", dir, err)
	}
	defer func() { _ = d.Close() }()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("failed to sync %s: %w", dir, err)
	}
	return nil
}

// publish fills a synced temporary file next to path and puts it in place
// with place (rename or link).
func publish(path string, perm os.FileMode, fill func(*os.File) error, place func(string, string) error, verb string) error {
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, TempPrefix+strings.ReplaceAll(filepath.Base(path), "*", "")+"-*")
	if err != nil {
		return fmt.Errorf("failed to create temporary file in %s: %w", dir, err)
	}
	defer func() { _ = os.Remove(tmp.Name()) }()
	if err := fillAndSync(tmp, perm, fill); err != nil {
		return err
	}
	if err := place(tmp.Name(), path); err != nil {
		return fmt.Errorf("failed to %s %s: %w", verb, path, err)
	}
	return SyncDir(dir)
}

func fillAndSync(f *os.File, perm os.FileMode, fill func(*os.File) error) error {
	err := fill(f)
	if err == nil {
		err = f.Chmod(perm)
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("failed to write %s: %w", f.Name(), err)
	}
	return nil
}

func writeData(data []byte) func(*os.File) error {
	return func(f *os.File) error {
		if _, err := f.Write(data); err != nil {
			return fmt.Errorf("failed to write: %w", err)
		}
		return nil
	}
}
