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

package localcluster

import (
	"bufio"
	"embed"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"text/template"

	"github.com/plinth-dev/plinth/test/reaper"
)

//go:embed templates
var templates embed.FS

// renderFile executes the named template into path.
func (c *Cluster) renderFile(name, path string, data any) error {
	tmpl, err := template.ParseFS(templates, "templates/"+name)
	if err != nil {
		return fmt.Errorf("failed to parse template %s: %w", name, err)
	}
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("failed to create %s: %w", path, err)
	}
	err = tmpl.Execute(f, data)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("failed to render %s: %w", path, err)
	}
	return nil
}

// writeConfigs writes the node's identities and its daemons' configuration.
func (n *Node) writeConfigs() error {
	c := n.cluster
	dir := filepath.Join(n.Dir, "config")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("failed to create %s: %w", dir, err)
	}
	server := "https://" + c.cpIP.String() + ":" + itoa(apiServerPort)
	kubelet, err := c.kubeconfigFor(n.Name()+"-kubelet", server, "system:node:"+n.Name(), "system:nodes")
	if err != nil {
		return err
	}
	proxy, err := c.kubeconfigFor(n.Name()+"-kube-proxy", server, "system:kube-proxy")
	if err != nil {
		return err
	}
	files := []struct {
		template, path string
		data           any
	}{
		{"containerd.toml", "containerd.toml", map[string]string{"Runc": c.runc, "PauseImage": PauseImage}},
		{"kubelet.yaml", "kubelet.yaml", map[string]string{"IP": n.IP.String(), "CAFile": c.pki.CAFile(), "CgroupRoot": n.cgroupRoot}},
		{"kube-proxy.yaml", "kube-proxy.yaml", map[string]string{"Name": n.Name(), "IP": n.IP.String(), "ClusterCIDR": c.opts.ClusterCIDR, "Kubeconfig": proxy}},
	}
	for _, f := range files {
		if err := c.renderFile(f.template, filepath.Join(dir, f.path), f.data); err != nil {
			return err
		}
	}
	if err := os.Rename(kubelet, filepath.Join(dir, "kubelet.kubeconfig")); err != nil {
		return fmt.Errorf("failed to place the kubelet's kubeconfig: %w", err)
	}
	return n.writeNodeFiles()
}

// writeNodeFiles writes the files the node sees instead of the machine's:
// its machine ID and the kernel tunables the kubelet checks.
func (n *Node) writeNodeFiles() error {
	files := map[string]string{"/etc/machine-id": strings.ReplaceAll(n.cluster.id+n.Name()+strings.Repeat("0", 32), "-", "")[:32] + "\n"}
	for path, v := range kernelDefaults {
		files[path] = v + "\n"
	}
	for path, content := range files {
		p := filepath.Join(n.Dir, "files", path)
		if err := os.MkdirAll(filepath.Dir(p), 0o750); err != nil {
			return fmt.Errorf("failed to create %s: %w", filepath.Dir(p), err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			return fmt.Errorf("failed to write %s: %w", p, err)
		}
	}
	return nil
}

// mountSpec is one mount of the node's init script.
type mountSpec struct{ Type, Options, Source, Target string }

// initData is what templates/node-init.sh needs.
func (n *Node) initData(ready string) map[string]any {
	var binds []mountSpec
	for _, d := range hostDirs {
		binds = append(binds, mountSpec{Source: filepath.Join(n.Dir, "fs", d), Target: d})
	}
	_ = filepath.WalkDir(filepath.Join(n.Dir, "files"), func(path string, d os.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			binds = append(binds, mountSpec{Source: path, Target: strings.TrimPrefix(path, filepath.Join(n.Dir, "files"))})
		}
		return nil
	})
	cgroups, links := cgroupMounts()
	unified := len(cgroups) == 1 && cgroups[0].Target == "/sys/fs/cgroup"
	data := map[string]any{
		"Name": n.Name(), "Cgroups": cgroups, "Links": links, "Binds": binds, "Ready": ready, "Unified": unified,
		"Init": filepath.Join(n.cluster.opts.BinDir, "pause"),
	}
	if n.Spec.Pool == PoolXFS {
		data["PoolImage"] = filepath.Join(n.Dir, "pool.img")
	}
	return data
}

// cgroupMounts lists the machine's cgroup hierarchies under /sys/fs/cgroup
// (to mount them again in the node) and the symlinks between them.
func cgroupMounts() ([]mountSpec, []mountSpec) {
	var mounts, links []mountSpec
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return nil, nil
	}
	defer func() { _ = f.Close() }()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		// id parent major:minor root target options [optional...] - type source superoptions
		pre, post, ok := strings.Cut(sc.Text(), " - ")
		fields, tail := strings.Fields(pre), strings.Fields(post)
		if !ok || len(fields) < 5 || len(tail) < 3 || !strings.HasPrefix(fields[4]+"/", "/sys/fs/cgroup/") {
			continue
		}
		if tail[0] == "cgroup" || tail[0] == "cgroup2" {
			mounts = append(mounts, mountSpec{Type: tail[0], Options: tail[2], Source: tail[0], Target: fields[4]})
		}
	}
	entries, _ := os.ReadDir("/sys/fs/cgroup")
	for _, e := range entries {
		if e.Type()&os.ModeSymlink != 0 {
			if dest, err := os.Readlink(filepath.Join("/sys/fs/cgroup", e.Name())); err == nil {
				links = append(links, mountSpec{Source: dest, Target: filepath.Join("/sys/fs/cgroup", e.Name())})
			}
		}
	}
	return mounts, links
}

// createCgroups creates the node's cgroup root in every hierarchy; the
// cpuset one needs CPUs and memory nodes before it can hold a process.
func (n *Node) createCgroups() error {
	if err := n.cluster.track(func(s *reaper.State) { s.Cgroups = append(s.Cgroups, n.cgroupRoot) }); err != nil {
		return err
	}
	mounts, _ := cgroupMounts()
	for _, m := range mounts {
		dir := filepath.Join(m.Target, n.cgroupRoot)
		if err := os.MkdirAll(dir, 0o755); err != nil { //nolint:gosec // cgroup directories, as the kubelet makes them
			return fmt.Errorf("failed to create cgroup %s: %w", dir, err)
		}
		if m.Target == "/sys/fs/cgroup" { // cgroup v2 alone
			if err := enableControllers(m.Target, dir); err != nil {
				return err
			}
			continue
		}
		if !strings.Contains(","+m.Options+",", ",cpuset,") {
			continue
		}
		for _, file := range []string{"cpuset.cpus", "cpuset.mems"} {
			v, err := os.ReadFile(filepath.Join(m.Target, file))
			if err == nil {
				err = os.WriteFile(filepath.Join(dir, file), v, 0o644)
			}
			if err != nil {
				return fmt.Errorf("failed to set %s of %s: %w", file, dir, err)
			}
		}
	}
	return nil
}

// enableControllers delegates the root's controllers to the node's cgroup
// (cgroup v2), as the kubelet needs them in its root.
func enableControllers(root, dir string) error {
	data, err := os.ReadFile(filepath.Join(root, "cgroup.controllers"))
	if err != nil {
		return fmt.Errorf("failed to read the cgroup controllers: %w", err)
	}
	var enable []string
	for _, c := range strings.Fields(string(data)) {
		enable = append(enable, "+"+c)
	}
	for _, d := range []string{root, dir} {
		if err := os.WriteFile(filepath.Join(d, "cgroup.subtree_control"), []byte(strings.Join(enable, " ")), 0o644); err != nil {
			return fmt.Errorf("failed to enable controllers in %s: %w", d, err)
		}
	}
	return nil
}

func itoa(n int) string     { return strconv.Itoa(n) }
func itoa64(n int64) string { return strconv.FormatInt(n, 10) }
