package atomicfile

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// TempPrefix starts the name of every temporary file Write creates; a
// directory's owner may remove such files left by a writer that died.
const TempPrefix = ".tmp-"

// Write replaces path with data: temporary file in the same directory,
// fsync, rename, fsync of the directory.
func Write(path string, data []byte, perm os.FileMode) error {
	return publish(path, data, perm, os.Rename, "replace")
}

// Create is Write that never replaces: when path exists it fails with an
// error that matches fs.ErrExist. The file appears whole, by a hard link.
func Create(path string, data []byte, perm os.FileMode) error {
	return publish(path, data, perm, os.Link, "create")
}

// publish writes data to a synced temporary file next to path and puts it
// in place with place (rename or link).
func publish(path string, data []byte, perm os.FileMode, place func(string, string) error, verb string) error {
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, TempPrefix+strings.ReplaceAll(filepath.Base(path), "*", "")+"-*")
	if err != nil {
		return fmt.Errorf("failed to create temporary file in %s: %w", dir, err)
	}
	defer os.Remove(tmp.Name())
	if err := writeAndSync(tmp, data, perm); err != nil {
		return err
	}
	if err := place(tmp.Name(), path); err != nil {
		return fmt.Errorf("failed to %s %s: %w", verb, path, err)
	}
	return SyncDir(dir)
}

func writeAndSync(f *os.File, data []byte, perm os.FileMode) error {
	_, err := f.Write(data)
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

// SyncDir makes renames and removals in dir durable.
func SyncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("failed to open %s: %w", dir, err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("failed to sync %s: %w", dir, err)
	}
	return nil
}
