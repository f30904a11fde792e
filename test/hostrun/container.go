package hostrun

import (
	"context"
	"fmt"
	"strconv"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
)

// Restart back-off, as the kubelet's but shorter: 1s doubling up to 10s,
// back to 1s after a run that lasted longer than the maximum.
const (
	initialBackOff = time.Second
	maxBackOff     = 10 * time.Second
)

// exitStartError is the exit code reported when a process cannot start.
const exitStartError = 128

// container is one container of a pod: how to run it and, guarded by its
// worker's mutex, what the pod status reports about it.
type container struct {
	spec    *corev1.Container
	init    bool
	logPath string
	argv    []string
	env     []string
	dir     string

	status corev1.ContainerStatus
	done   bool // it will not run again
}

func newContainer(spec *corev1.Container, init bool, reason string) *container {
	return &container{spec: spec, init: init, status: corev1.ContainerStatus{
		Name:  spec.Name,
		Image: spec.Image,
		State: corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: reason}},
	}}
}

// runInit runs an init container until it succeeds, retrying failures with
// back-off unless the pod never restarts. It reports success.
func (w *podWorker) runInit(ctx context.Context, c *container) bool {
	backOff := initialBackOff
	for {
		began := time.Now()
		code := w.runOnce(ctx, c)
		if ctx.Err() != nil {
			return false
		}
		if code == 0 || w.latest().Spec.RestartPolicy == corev1.RestartPolicyNever {
			w.markDone(c)
			return code == 0
		}
		if backOff = w.backOff(ctx, c, backOff, time.Since(began)); backOff == 0 {
			return false
		}
	}
}

// supervise runs a container, restarting it as the pod's restart policy says.
func (w *podWorker) supervise(ctx context.Context, c *container) {
	backOff := initialBackOff
	for {
		began := time.Now()
		code := w.runOnce(ctx, c)
		if ctx.Err() != nil {
			return
		}
		if !restarts(w.latest().Spec.RestartPolicy, code) {
			w.markDone(c)
			return
		}
		if backOff = w.backOff(ctx, c, backOff, time.Since(began)); backOff == 0 {
			return
		}
	}
}

func restarts(policy corev1.RestartPolicy, code int32) bool {
	return policy == corev1.RestartPolicyAlways || (policy == corev1.RestartPolicyOnFailure && code != 0)
}

// backOff reports the container waiting to restart, waits, and returns the
// next back-off, or 0 when ctx ended the wait.
func (w *podWorker) backOff(ctx context.Context, c *container, backOff, ran time.Duration) time.Duration {
	if ran > maxBackOff {
		backOff = initialBackOff
	}
	w.change(func() {
		c.status.LastTerminationState = c.status.State
		c.status.State = corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{
			Reason:  "CrashLoopBackOff",
			Message: fmt.Sprintf("back-off %s restarting failed container %s", backOff, c.spec.Name),
		}}
		c.status.RestartCount++
	})
	select {
	case <-ctx.Done():
		return 0
	case <-time.After(backOff):
	}
	return min(2*backOff, maxBackOff)
}

// runOnce runs the container's process until it exits, or terminates it
// when ctx ends, and returns its exit code.
func (w *podWorker) runOnce(ctx context.Context, c *container) int32 {
	startedAt := metav1.Now()
	p, err := startProcess(c.argv, c.env, c.dir, c.logPath)
	if err != nil {
		w.log.Error(err, "Container did not start", "container", c.spec.Name)
		w.setTerminated(c, exitStartError, "StartError", err.Error(), startedAt)
		return exitStartError
	}
	w.setRunning(c, p.cmd.Process.Pid, startedAt)
	probeCtx, stopProbe := context.WithCancel(ctx)
	probed := make(chan struct{})
	go func() {
		defer close(probed)
		w.probeReadiness(probeCtx, c)
	}()
	select {
	case <-p.done:
	case <-ctx.Done():
		if err := p.terminate(w.gracePeriod()); err != nil {
			w.log.Error(err, "Failed to stop container", "container", c.spec.Name)
			w.r.recordError(err)
		}
	}
	stopProbe()
	<-probed
	code := p.exitCode()
	reason := "Completed"
	if code != 0 {
		reason = "Error"
	}
	w.setTerminated(c, code, reason, "", startedAt)
	w.log.Info("Container exited", "container", c.spec.Name, "exitCode", code)
	return code
}

func (w *podWorker) setRunning(c *container, pid int, startedAt metav1.Time) {
	w.change(func() {
		c.status.State = corev1.ContainerState{Running: &corev1.ContainerStateRunning{StartedAt: startedAt}}
		c.status.ContainerID = "hostrun://" + strconv.Itoa(pid)
		c.status.ImageID = "hostrun://" + c.argv[0]
		c.status.Started = ptr.To(true)
		c.status.Ready = !c.init && !hasHTTPReadinessProbe(c.spec)
	})
}

func (w *podWorker) setTerminated(c *container, code int32, reason, message string, startedAt metav1.Time) {
	w.change(func() {
		c.status.State = corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{
			ExitCode: code, Reason: reason, Message: message,
			StartedAt: startedAt, FinishedAt: metav1.Now(), ContainerID: c.status.ContainerID,
		}}
		c.status.Started = ptr.To(false)
		c.status.Ready = false
	})
}

// setReady records a readiness probe result of a running container.
func (w *podWorker) setReady(c *container, ready bool) {
	w.change(func() {
		if c.status.State.Running != nil {
			c.status.Ready = ready
		}
	})
}

func (w *podWorker) markDone(c *container) {
	w.change(func() { c.done = true })
}
