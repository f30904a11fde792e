package devcluster

import (
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"

	mount "k8s.io/mount-utils"
)

// unmountAll unmounts every mount at or below dir, deepest first: the
// nodes' pools and the volumes plinth-node staged and published under the
// nodes' kubelet directories. A loop-mounted pool releases its loop device.
func unmountAll(dir string) error {
	dir, err := filepath.Abs(dir)
	if err != nil {
		return fmt.Errorf("failed to resolve %s: %w", dir, err)
	}
	m := mount.New("")
	points, err := m.List()
	if err != nil {
		return fmt.Errorf("failed to list mounts: %w", err)
	}
	var paths []string
	for _, p := range points {
		if p.Path == dir || strings.HasPrefix(p.Path, dir+"/") {
			paths = append(paths, p.Path)
		}
	}
	// Deeper paths first; a path mounted twice is unmounted twice.
	slices.SortFunc(paths, func(a, b string) int { return len(b) - len(a) })
	var errs []error
	for _, p := range paths {
		if err := m.Unmount(p); err != nil {
			errs = append(errs, fmt.Errorf("failed to unmount %s: %w", p, err))
		}
	}
	return errors.Join(errs...)
}
