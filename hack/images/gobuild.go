package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
)

// moduleVersionVars are the variables in which the commands of other modules
// expect their version; buildBinaries sets each to the version of that module
// that the main module's go.mod requires.
var moduleVersionVars = map[string]string{
	"github.com/containernetworking/plugins": "github.com/containernetworking/plugins/pkg/utils/buildversion.BuildVersion",
}

// buildBinaries builds the binaries (see pkgPath) for linux/o.arch into
// dir: static, without local paths, with o.version in main.version and the
// module versions of moduleVersionVars.
func buildBinaries(ctx context.Context, o *options, names []string, dir string) error {
	pkgs := make([]string, len(names))
	for i, n := range names {
		pkgs[i] = pkgPath(n)
	}
	ldflags, err := versionFlags(ctx, o, pkgs)
	if err != nil {
		return err
	}
	args := append([]string{"build", "-trimpath", "-ldflags", "-s -w " + ldflags, "-o", dir + "/"}, pkgs...)
	cmd := goCommand(ctx, o, args...)
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("failed to build %v: %w", names, err)
	}
	return nil
}

// versionFlags are the -X linker flags that stamp the versions into pkgs.
func versionFlags(ctx context.Context, o *options, pkgs []string) (string, error) {
	out, err := goCommand(ctx, o, append([]string{"list", "-f", "{{with .Module}}{{.Path}} {{.Version}}{{end}}"}, pkgs...)...).Output()
	if err != nil {
		return "", fmt.Errorf("failed to list the modules of %v: %w", pkgs, commandError(err))
	}
	flags := []string{"-X main.version=" + o.version}
	for line := range strings.Lines(string(out)) {
		mod, version, _ := strings.Cut(strings.TrimSpace(line), " ")
		if v, ok := moduleVersionVars[mod]; ok && version != "" {
			flags = append(flags, "-X "+v+"="+version)
		}
	}
	return strings.Join(flags, " "), nil
}

// goCommand runs the go command in the main module for linux/o.arch.
func goCommand(ctx context.Context, o *options, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, o.goCmd, args...)
	cmd.Dir = o.root
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH="+o.arch, "GOFLAGS=-mod=readonly")
	return cmd
}
