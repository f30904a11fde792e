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

package main

import (
	"archive/tar"
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// testOptions builds into a temporary directory from the repository this
// module sits in ($PLINTH_ROOT overrides it), sharing the .deb cache of
// `make images`.
func testOptions(t *testing.T, out string) *options {
	t.Helper()
	root := os.Getenv("PLINTH_ROOT")
	if root == "" {
		root = "../.."
	}
	o := &options{root: root, out: out, goCmd: "go", registry: "example.test/plinth", version: "v0.0.0-test",
		source: "https://github.com/plinth-dev/plinth", arch: runtime.GOARCH, images: imageNames(true)}
	if err := o.complete(); err != nil {
		t.Fatal(err)
	}
	return o
}

// buildTwice builds every image twice, into two directories, and returns
// the options and the tarball paths of both builds.
func buildTwice(t *testing.T) (*options, []string, []string) {
	t.Helper()
	needTools(t, "apt-cache", "apt-get", "dpkg-deb", "go")
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Minute)
	defer cancel()
	var o *options
	var paths [2][]string
	for i := range paths {
		o = testOptions(t, t.TempDir())
		var err error
		if paths[i], err = buildAll(ctx, o, specs); err != nil {
			t.Fatal(err)
		}
	}
	return o, paths[0], paths[1]
}

func TestImages(t *testing.T) {
	o, first, second := buildTwice(t)
	images := map[string]v1.Image{}
	for i, s := range specs {
		refs, err := imageRefs(o, s)
		if err != nil {
			t.Fatal(err)
		}
		images[s.name] = loadImage(t, first[i], refs[0].String())
		t.Run(s.name+"/is reproducible", func(t *testing.T) {
			testSameDigest(t, images[s.name], loadImage(t, second[i], refs[0].String()))
			testSameFile(t, first[i], second[i])
		})
		t.Run(s.name+"/names", func(t *testing.T) { testNames(t, first[i], refs) })
		t.Run(s.name+"/config", func(t *testing.T) { testConfig(t, o, s, images[s.name]) })
	}
	t.Run("plinth-controller/files", func(t *testing.T) { testControllerFiles(t, images["plinth-controller"]) })
	t.Run("plinth-node/files", func(t *testing.T) { testNodeFiles(t, images["plinth-node"]) })
	t.Run("pause/files", func(t *testing.T) { testPauseFiles(t, images["pause"]) })
	t.Run("busybox/files", func(t *testing.T) { testBusyboxFiles(t, images["busybox"]) })
	t.Run("e2e-shell/files", func(t *testing.T) { testBusyboxFiles(t, images["e2e-shell"]) })
	t.Run("agnhost/files", func(t *testing.T) { testAgnhostFiles(t, images["agnhost"]) })
	t.Run("plinth-controller/runs as nonroot", func(t *testing.T) { testControllerRuns(t, images["plinth-controller"]) })
	t.Run("plinth-node/tools run", func(t *testing.T) { testNodeTools(t, images["plinth-node"]) })
	t.Run("pause/exits 0 on SIGTERM", func(t *testing.T) { testPauseStops(t, images["pause"]) })
	t.Run("busybox/applets run", func(t *testing.T) { testBusyboxRuns(t, images["busybox"]) })
	t.Run("e2e-shell/applets run", func(t *testing.T) { testBusyboxRuns(t, images["e2e-shell"]) })
	t.Run("agnhost/tools run", func(t *testing.T) { testAgnhostRuns(t, images["agnhost"]) })
}

func testSameDigest(t *testing.T, a, b v1.Image) {
	da, err := a.Digest()
	if err != nil {
		t.Fatal(err)
	}
	db, err := b.Digest()
	if err != nil {
		t.Fatal(err)
	}
	if da != db {
		t.Errorf("two builds of the same inputs differ: %s and %s", da, db)
	}
}

// testSameFile checks that two builds wrote the same bytes.
func testSameFile(t *testing.T, a, b string) {
	da, err := os.ReadFile(a)
	if err != nil {
		t.Fatal(err)
	}
	db, err := os.ReadFile(b)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(da, db) {
		t.Errorf("two builds of the same inputs wrote different tarballs %s and %s", a, b)
	}
}

// testNames checks that the tarball names the image refs, in that order.
func testNames(t *testing.T, path string, refs []name.Tag) {
	m, err := tarball.LoadManifest(func() (io.ReadCloser, error) { return os.Open(path) })
	if err != nil {
		t.Fatal(err)
	}
	want := make([]string, len(refs))
	for i, r := range refs {
		want[i] = r.String()
	}
	if len(m) != 1 || !slices.Equal(m[0].RepoTags, want) {
		t.Fatalf("manifest.json names %+v, want one image named %q", m, want)
	}
	for _, r := range want {
		loadImage(t, path, r)
	}
}

// wantConfig is what each image's config says, besides its os/arch and labels.
var wantConfig = map[string]struct{ user, entrypoint, cmd, version string }{
	"plinth-controller": {"65532:65532", "/usr/local/bin/plinth-controller", "", "v0.0.0-test"},
	"plinth-node":       {"0:0", "/usr/local/bin/plinth-node", "", "v0.0.0-test"},
	"pause":             {"65535:65535", "/pause", "", "3.10.1"},
	"busybox":           {"0:0", "", "sh", "1.37.0-1"},
	"agnhost":           {"0:0", "/agnhost", "pause", "2.63.0"},
	"e2e-shell":         {"0:0", "", "sh", "1.15-4"},
}

func testConfig(t *testing.T, o *options, s spec, img v1.Image) {
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	w := wantConfig[s.name]
	want := map[string]string{
		"os/arch":    "linux/" + o.arch,
		"user":       w.user,
		"entrypoint": w.entrypoint,
		"cmd":        w.cmd,
		"source":     "https://github.com/plinth-dev/plinth",
		"version":    w.version,
		"title":      s.name,
		"PATH":       "PATH=" + imagePath,
	}
	got := map[string]string{
		"os/arch":    cf.OS + "/" + cf.Architecture,
		"user":       cf.Config.User,
		"entrypoint": strings.Join(cf.Config.Entrypoint, " "),
		"cmd":        strings.Join(cf.Config.Cmd, " "),
		"source":     cf.Config.Labels["org.opencontainers.image.source"],
		"version":    cf.Config.Labels["org.opencontainers.image.version"],
		"title":      cf.Config.Labels["org.opencontainers.image.title"],
		"PATH":       strings.Join(cf.Config.Env, " "),
	}
	for k, w := range want {
		if got[k] != w {
			t.Errorf("%s: got %q, want %q", k, got[k], w)
		}
	}
}

func testControllerFiles(t *testing.T, img v1.Image) {
	fs := entries(t, img)
	wantFiles(t, fs, "usr/local/bin/plinth-controller", "etc/passwd", "etc/group", "tmp", "home/nonroot")
	for _, absent := range []string{"bin/sh", "usr/bin/sh", "usr/local/bin/plinth-node"} {
		if fs[absent] != nil {
			t.Errorf("the controller image has %s", absent)
		}
	}
}

func testNodeFiles(t *testing.T, img v1.Image) {
	fs := entries(t, img)
	wantFiles(t, fs, "usr/local/bin/plinth-node", "usr/local/bin/plinth-cni", "usr/local/bin/loopback",
		"usr/sbin/mkfs.ext4", "usr/sbin/mkfs.xfs", "usr/sbin/e2fsck", "usr/sbin/resize2fs", "usr/sbin/xfs_growfs",
		"usr/sbin/blkid", "usr/sbin/blockdev", "usr/sbin/fsck", "usr/sbin/losetup", "usr/bin/mount", "usr/bin/umount",
		"usr/bin/sh", "var/lib/dpkg/status.d/e2fsprogs", "etc/passwd")
	for _, dir := range []string{"bin", "sbin", "lib"} {
		if h := fs[dir]; h == nil || h.Typeflag != tar.TypeSymlink || h.Linkname != "usr/"+dir {
			t.Errorf("/%s is not a link to usr/%s: %+v", dir, dir, h)
		}
	}
	for p := range fs {
		if isSkipped(p) {
			t.Errorf("the node image has documentation %s", p)
		}
	}
}

func wantFiles(t *testing.T, fs map[string]*tar.Header, paths ...string) {
	t.Helper()
	for _, p := range paths {
		if fs[p] == nil {
			t.Errorf("the image lacks %s", p)
		}
	}
}

func testControllerRuns(t *testing.T, img v1.Image) {
	needRoot(t)
	root := t.TempDir()
	extract(t, img, root)
	out, code := inChroot(t, root, nonRoot, "/usr/local/bin/plinth-controller", "--help")
	if (code != 0 && code != 2) || !strings.Contains(out, "leader-elect") {
		t.Errorf("plinth-controller --help as 65532 exited %d:\n%s", code, out)
	}
}

// testNodeTools runs, inside the node image, every tool the node agent
// runs: they start only if the image holds every library they load.
func testNodeTools(t *testing.T, img v1.Image) {
	needRoot(t)
	root := t.TempDir()
	extract(t, img, root)
	for _, argv := range [][]string{
		{"/usr/sbin/mkfs.ext4", "-V"}, {"/usr/sbin/mkfs.xfs", "-V"}, {"/usr/sbin/e2fsck", "-V"},
		{"/usr/sbin/xfs_growfs", "-V"}, {"/usr/sbin/blkid", "-V"}, {"/usr/sbin/blockdev", "-V"},
		{"/usr/sbin/fsck", "--version"}, {"/usr/sbin/losetup", "--version"}, {"/usr/bin/mount", "--version"},
		{"/usr/bin/umount", "--version"}, {"/bin/sh", "-c", "true"},
	} {
		if out, code := inChroot(t, root, 0, argv...); code != 0 {
			t.Errorf("%v exited %d:\n%s", argv, code, out)
		}
	}
	testFormat(t, root)
	testNodeHelp(t, root)
	testLoopback(t, root)
	testLibraries(t, root)
}

// testFormat makes and identifies both filesystems on files in the image.
func testFormat(t *testing.T, root string) {
	for _, fs := range []string{"ext4", "xfs"} {
		img := "/tmp/" + fs + ".img"
		if err := os.WriteFile(filepath.Join(root, img), nil, 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Truncate(filepath.Join(root, img), 300<<20); err != nil { // xfs's minimum
			t.Fatal(err)
		}
		if out, code := inChroot(t, root, 0, "/usr/sbin/mkfs."+fs, "-q", img); code != 0 {
			t.Errorf("mkfs.%s exited %d:\n%s", fs, code, out)
		}
		out, _ := inChroot(t, root, 0, "/usr/sbin/blkid", "-o", "value", "-s", "TYPE", img)
		if strings.TrimSpace(out) != fs {
			t.Errorf("blkid sees %q on the new %s filesystem", out, fs)
		}
	}
}

func testNodeHelp(t *testing.T, root string) {
	out, code := inChroot(t, root, 0, "/usr/local/bin/plinth-node", "--help")
	if (code != 0 && code != 2) || !strings.Contains(out, "pool-dir") {
		t.Errorf("plinth-node --help exited %d without mentioning -pool-dir:\n%s", code, out)
	}
}

// testLoopback runs the loopback CNI plugin: its version (stamped from the
// main go.mod) and a CNI VERSION call.
func testLoopback(t *testing.T, root string) {
	out, code := inChroot(t, root, 0, "/usr/local/bin/loopback")
	if code != 0 || !strings.Contains(out, "CNI loopback plugin v") {
		t.Errorf("loopback exited %d without its version:\n%s", code, out)
	}
	out, code = inChroot(t, root, 0, "/bin/sh", "-c", "CNI_COMMAND=VERSION exec /usr/local/bin/loopback")
	if code != 0 || !strings.Contains(out, `"cniVersion"`) {
		t.Errorf("loopback VERSION exited %d:\n%s", code, out)
	}
}

// testLibraries asks the dynamic loader whether every executable in the
// image finds all its libraries, except those that need a package that
// packages.txt excludes on purpose.
func testLibraries(t *testing.T, root string) {
	excluded := []string{"/usr/sbin/xfs_scrub"} // libicu
	loaders, _ := filepath.Glob(filepath.Join(root, "usr/lib*/ld-linux*.so.*"))
	if len(loaders) == 0 {
		t.Fatal("the image has no dynamic loader in /usr/lib*")
	}
	loader := strings.TrimPrefix(loaders[0], root)
	for _, dir := range []string{"/usr/bin", "/usr/sbin"} {
		names, err := os.ReadDir(filepath.Join(root, dir))
		if err != nil {
			t.Fatal(err)
		}
		for _, n := range names {
			bin := dir + "/" + n.Name()
			if n.Type()&os.ModeSymlink != 0 || slices.Contains(excluded, bin) {
				continue
			}
			if out, _ := inChroot(t, root, 0, loader, "--list", bin); strings.Contains(out, "not found") {
				t.Errorf("%s misses libraries:\n%s", bin, out)
			}
		}
	}
}
