package devcluster

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"k8s.io/apimachinery/pkg/util/wait"

	"github.com/plinth-dev/plinth/test/controlplane"
)

// killStale stops the control-plane processes of an earlier run whose
// command line points into dir (etcd's data dir, the components'
// kubeconfigs): they outlive a run that was killed with SIGKILL.
func killStale(dir string) error {
	pids, err := processesUsing(dir)
	if err != nil || len(pids) == 0 {
		return err
	}
	for _, pid := range pids {
		_ = syscall.Kill(pid, syscall.SIGKILL)
	}
	err = wait.PollUntilContextTimeout(context.Background(), 100*time.Millisecond, 30*time.Second, true, func(context.Context) (bool, error) {
		left, err := processesUsing(dir)
		return len(left) == 0, err
	})
	if err != nil {
		return fmt.Errorf("stale processes of an earlier run in %s did not stop: %w", dir, err)
	}
	return nil
}

// processesUsing lists the control-plane processes (by the name they were
// started as) whose arguments mention dir.
func processesUsing(dir string) ([]int, error) {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return nil, fmt.Errorf("failed to list processes: %w", err)
	}
	var pids []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == os.Getpid() {
			continue
		}
		cmdline, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if errors.Is(err, os.ErrNotExist) || errors.Is(err, syscall.ESRCH) {
			continue // exited meanwhile
		}
		if err != nil {
			return nil, fmt.Errorf("failed to read the command line of %d: %w", pid, err)
		}
		args := strings.Split(string(cmdline), "\x00")
		if slices.Contains(controlplane.Binaries, filepath.Base(args[0])) &&
			strings.Contains(string(cmdline), dir+string(filepath.Separator)) {
			pids = append(pids, pid)
		}
	}
	return pids, nil
}
