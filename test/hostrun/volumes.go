package hostrun

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	corev1 "k8s.io/api/core/v1"
)

// hostPathOnHost maps a node path to the host: under the node's root,
// unless it lies in one of the shared host paths.
func (o *Options) hostPathOnHost(node, p string) string {
	p = filepath.Clean("/" + p)
	for _, shared := range o.SharedHostPaths {
		shared = filepath.Clean(shared)
		if p == shared || strings.HasPrefix(p, shared+"/") {
			return p
		}
	}
	return filepath.Join(o.nodeRoot(node), p)
}

// prepareVolumes creates the pod's hostPath and emptyDir directories and
// returns each volume's host directory by name.
func (o *Options) prepareVolumes(pod *corev1.Pod) (map[string]string, error) {
	dirs := map[string]string{}
	for _, v := range pod.Spec.Volumes {
		var dir string
		var err error
		switch {
		case v.HostPath != nil:
			dir = o.hostPathOnHost(pod.Spec.NodeName, v.HostPath.Path)
			err = prepareHostPath(dir, v.HostPath.Type)
		case v.EmptyDir != nil:
			dir = filepath.Join(o.podDir(string(pod.UID)), "volumes", v.Name)
			err = os.MkdirAll(dir, 0o750)
		default:
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("failed to prepare volume %s: %w", v.Name, err)
		}
		dirs[v.Name] = dir
	}
	return dirs, nil
}

// prepareHostPath creates what the hostPath type asks to create; other
// types must exist already, as the kubelet checks. An unset type creates a
// directory too: a fresh node root has none of the usual ones.
func prepareHostPath(path string, typ *corev1.HostPathType) error {
	t := corev1.HostPathUnset
	if typ != nil {
		t = *typ
	}
	switch t {
	case corev1.HostPathUnset, corev1.HostPathDirectoryOrCreate:
		if err := os.MkdirAll(path, 0o755); err != nil { //nolint:gosec // node directories are world-readable, as on a node
			return fmt.Errorf("failed to create directory %s: %w", path, err)
		}
		return nil
	case corev1.HostPathFileOrCreate:
		return createFile(path)
	}
	if _, err := os.Stat(path); err != nil {
		return fmt.Errorf("hostPath of type %s: %w", t, err)
	}
	return nil
}

func createFile(path string) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil { //nolint:gosec // as for directories
		return fmt.Errorf("failed to create directory %s: %w", filepath.Dir(path), err)
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDONLY, 0o644) //nolint:gosec // as for directories
	if err != nil {
		return fmt.Errorf("failed to create file %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("failed to create file %s: %w", path, err)
	}
	return nil
}

// containerMounts maps the container's mounts of provided volumes to host
// directories (creating subPaths), longest container path first.
func containerMounts(c *corev1.Container, dirs map[string]string) ([]mount, error) {
	var mounts []mount
	for _, m := range c.VolumeMounts {
		dir, ok := dirs[m.Name]
		if !ok {
			continue
		}
		if m.SubPath != "" {
			dir = filepath.Join(dir, filepath.Clean("/"+m.SubPath))
			if err := os.MkdirAll(dir, 0o750); err != nil {
				return nil, fmt.Errorf("failed to create subPath %s of volume %s: %w", m.SubPath, m.Name, err)
			}
		}
		if p := filepath.Clean(m.MountPath); p != "/" {
			mounts = append(mounts, mount{containerPath: p, hostPath: dir})
		}
	}
	sortMounts(mounts)
	return mounts, nil
}
