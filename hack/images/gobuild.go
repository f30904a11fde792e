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
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// moduleVersionVars are the variables in which the commands of other modules
// expect their version; buildBinaries sets each to the version of that module
// that the main module's go.mod requires.
var moduleVersionVars = map[string]string{
	"github.com/containernetworking/plugins": "github.com/containernetworking/plugins/pkg/utils/buildversion.BuildVersion",
}

// buildBinaries builds the binaries (see pkgPath) for linux/o.arch into
// dir, in module (relative to the root; "" for the main module): static,
// without local paths, with o.version in internal/version.Version and the
// module versions of moduleVersionVars.
func buildBinaries(ctx context.Context, o *options, module string, names []string, dir string) error {
	if module == e2eModule {
		if err := checkModuleVersion(o.root, module); err != nil {
			return err
		}
	}
	pkgs := make([]string, len(names))
	for i, n := range names {
		pkgs[i] = pkgPath(n)
	}
	ldflags, err := versionFlags(ctx, o, module, pkgs)
	if err != nil {
		return err
	}
	args := append([]string{"build", "-trimpath", "-ldflags", "-s -w " + ldflags, "-o", dir + "/"}, pkgs...)
	cmd := goCommand(ctx, o, module, args...)
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("failed to build %v: %w", names, err)
	}
	return nil
}

// versionFlags are the -X linker flags that stamp the versions into pkgs.
func versionFlags(ctx context.Context, o *options, module string, pkgs []string) (string, error) {
	out, err := goCommand(ctx, o, module, append([]string{"list", "-f", "{{with .Module}}{{.Path}} {{.Version}}{{end}}"}, pkgs...)...).Output()
	if err != nil {
		return "", fmt.Errorf("failed to list the modules of %v: %w", pkgs, commandError(err))
	}
	flags := []string{"-X github.com/plinth-dev/plinth/internal/version.Version=" + o.version}
	for line := range strings.Lines(string(out)) {
		mod, version, _ := strings.Cut(strings.TrimSpace(line), " ")
		if v, ok := moduleVersionVars[mod]; ok && version != "" {
			flags = append(flags, "-X "+v+"="+version)
		}
	}
	return strings.Join(flags, " "), nil
}

// goCommand runs the go command in module (relative to the root; "" for the
// main module) for linux/o.arch.
func goCommand(ctx context.Context, o *options, module string, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, o.goCmd, args...)
	cmd.Dir = filepath.Join(o.root, module)
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH="+o.arch, "GOFLAGS=-mod=readonly")
	return cmd
}
