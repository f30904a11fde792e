package hostrun

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"syscall"
	"time"
)

// process is one run of a container: a host process in its own process
// group, killed with the runner's process (Pdeathsig), output appended to
// the container's log file.
type process struct {
	cmd  *exec.Cmd
	done chan struct{}
}

// startProcess runs argv with exactly env (nothing of the runner's own
// environment leaks in) in dir.
func startProcess(argv, env []string, dir, logPath string) (*process, error) {
	log, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return nil, fmt.Errorf("failed to open log %s: %w", logPath, err)
	}
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Env, cmd.Dir = env, dir
	cmd.Stdout, cmd.Stderr = log, log
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		_ = log.Close()
		return nil, fmt.Errorf("failed to start %s: %w", argv[0], err)
	}
	p := &process{cmd: cmd, done: make(chan struct{})}
	go func() {
		_ = cmd.Wait()
		_ = log.Close()
		close(p.done)
	}()
	return p, nil
}

// exitCode is the process's exit code, 128+signal when a signal ended it.
// Valid once done is closed.
func (p *process) exitCode() int32 {
	state := p.cmd.ProcessState
	if ws, ok := state.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		return 128 + int32(ws.Signal()) //nolint:gosec // signal numbers are small
	}
	return int32(state.ExitCode()) //nolint:gosec // exit codes fit
}

// terminate sends SIGTERM to the process group and SIGKILL after grace,
// and returns once the process has exited.
func (p *process) terminate(grace time.Duration) error {
	pgid := p.cmd.Process.Pid
	if err := signalGroup(pgid, syscall.SIGTERM); err != nil {
		return err
	}
	select {
	case <-p.done:
		return nil
	case <-time.After(grace):
	}
	err := signalGroup(pgid, syscall.SIGKILL)
	<-p.done
	return err
}

func signalGroup(pgid int, sig syscall.Signal) error {
	if err := syscall.Kill(-pgid, sig); err != nil && !errors.Is(err, syscall.ESRCH) {
		return fmt.Errorf("failed to send %s to process group %d: %w", sig, pgid, err)
	}
	return nil
}
