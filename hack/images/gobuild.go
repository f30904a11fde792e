package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
)

// buildBinaries builds cmd/<name> of the main module for linux/o.arch into
// dir: static, without local paths, with o.version in main.version.
func buildBinaries(ctx context.Context, o *options, names []string, dir string) error {
	args := make([]string, 0, 6+len(names))
	args = append(args, "build", "-trimpath", "-ldflags", "-s -w -X main.version="+o.version, "-o", dir+"/")
	for _, n := range names {
		args = append(args, "./cmd/"+n)
	}
	cmd := exec.CommandContext(ctx, o.goCmd, args...)
	cmd.Dir = o.root
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH="+o.arch, "GOFLAGS=-mod=readonly")
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("failed to build %v: %w", names, err)
	}
	return nil
}
