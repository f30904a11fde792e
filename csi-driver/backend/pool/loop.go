package pool

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// sysBlock is where the kernel lists loop devices and their backing files.
const sysBlock = "/sys/block"

// findLoop returns the loop device whose backing file is file, or "" when
// the file is not attached.
func findLoop(file string) (string, error) {
	paths, err := filepath.Glob(filepath.Join(sysBlock, "loop*", "loop", "backing_file"))
	if err != nil {
		return "", fmt.Errorf("failed to list loop devices: %w", err)
	}
	for _, p := range paths {
		data, err := os.ReadFile(p)
		if os.IsNotExist(err) {
			continue // detached while we looked
		}
		if err != nil {
			return "", fmt.Errorf("failed to read %s: %w", p, err)
		}
		if strings.TrimSpace(string(data)) == file {
			return "/dev/" + filepath.Base(filepath.Dir(filepath.Dir(p))), nil
		}
	}
	return "", nil
}

// attachLoop attaches file to a free loop device and returns the device.
func attachLoop(ctx context.Context, file string) (string, error) {
	out, err := losetup(ctx, "--find", "--show", file)
	if err != nil {
		return "", err
	}
	return strings.TrimSpace(out), nil
}

// detachLoop detaches device. The kernel defers the detach while the device
// is still open (mounted) and completes it on the last close.
func detachLoop(ctx context.Context, device string) error {
	_, err := losetup(ctx, "--detach", device)
	return err
}

// refreshLoop makes device pick up the new size of its backing file.
func refreshLoop(ctx context.Context, device string) error {
	_, err := losetup(ctx, "--set-capacity", device)
	return err
}

func losetup(ctx context.Context, args ...string) (string, error) {
	var stdout, stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, "losetup", args...)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("failed to run losetup %s: %w: %s", strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
	}
	return stdout.String(), nil
}
