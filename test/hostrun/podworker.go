package hostrun

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/go-logr/logr"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
)

// maxGrace caps a pod's termination grace period: tests and `make run`
// should not wait the default 30 seconds for a process that ignores SIGTERM.
const maxGrace = 10 * time.Second

// podWorker plays the kubelet for one pod: it prepares the pod's volumes,
// identity and ports, runs its containers, reports its status, and on
// deletion stops the processes and deletes the pod object.
type podWorker struct {
	r        *Runner
	log      logr.Logger
	nodeIP   string
	podDir   string
	identity identity
	dirty    chan struct{}
	finished chan struct{}

	// ctx is the lifetime of the pod's processes; terminate ends it.
	ctx    context.Context
	cancel context.CancelFunc

	mu        sync.Mutex
	pod       *corev1.Pod
	grace     time.Duration
	deleting  bool   // the pod's deletion ended ctx: delete the object
	failure   string // why the pod failed without running
	ports     map[int32]int32
	created   bool // volumes, identity and ports are ready
	initDone  bool
	launched  bool
	inits     []*container
	mains     []*container
	startTime metav1.Time
}

func newPodWorker(r *Runner, pod *corev1.Pod) *podWorker {
	w := &podWorker{
		r:         r,
		log:       r.log.WithValues("pod", pod.Namespace+"/"+pod.Name, "node", pod.Spec.NodeName),
		nodeIP:    r.nodeIPs[pod.Spec.NodeName],
		podDir:    r.opts.podDir(string(pod.UID)),
		dirty:     make(chan struct{}, 1),
		finished:  make(chan struct{}),
		pod:       pod,
		grace:     podGrace(pod),
		startTime: metav1.Now(),
	}
	w.identity = newIdentity(w.podDir)
	w.ctx, w.cancel = context.WithCancel(r.ctx)
	mainReason := "ContainerCreating"
	if len(pod.Spec.InitContainers) > 0 {
		mainReason = "PodInitializing"
	}
	for i := range pod.Spec.InitContainers {
		w.inits = append(w.inits, newContainer(&pod.Spec.InitContainers[i], true, "PodInitializing"))
	}
	for i := range pod.Spec.Containers {
		w.mains = append(w.mains, newContainer(&pod.Spec.Containers[i], false, mainReason))
	}
	return w
}

// podGrace is the pod's termination grace period, capped at maxGrace.
func podGrace(pod *corev1.Pod) time.Duration {
	seconds := int64(corev1.DefaultTerminationGracePeriodSeconds)
	if pod.DeletionGracePeriodSeconds != nil {
		seconds = *pod.DeletionGracePeriodSeconds
	} else if pod.Spec.TerminationGracePeriodSeconds != nil {
		seconds = *pod.Spec.TerminationGracePeriodSeconds
	}
	return min(time.Duration(seconds)*time.Second, maxGrace)
}

// observe takes a newer version of the pod; a deletion timestamp starts
// the pod's termination.
func (w *podWorker) observe(pod *corev1.Pod) {
	w.mu.Lock()
	w.pod = pod
	w.mu.Unlock()
	if pod.DeletionTimestamp != nil {
		w.terminate(podGrace(pod), true)
	}
}

// terminate stops the pod's processes, SIGKILLing them after grace. When
// deleting, the pod object is deleted once they are gone.
func (w *podWorker) terminate(grace time.Duration, deleting bool) {
	w.mu.Lock()
	if w.ctx.Err() == nil {
		w.grace, w.deleting = grace, deleting
	}
	w.mu.Unlock()
	w.cancel()
}

func (w *podWorker) latest() *corev1.Pod {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.pod
}

func (w *podWorker) gracePeriod() time.Duration {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.grace
}

// change applies fn to the worker's state and schedules a status update.
func (w *podWorker) change(fn func()) {
	w.mu.Lock()
	fn()
	w.mu.Unlock()
	select {
	case w.dirty <- struct{}{}:
	default:
	}
}

// run is the worker's life: run the pod unless it has finished already,
// wait for its deletion (or the runner's stop), then clean up.
func (w *podWorker) run() {
	defer close(w.finished)
	statusCtx, stopStatus := context.WithCancel(w.r.ctx)
	statusDone := make(chan struct{})
	go func() {
		defer close(statusDone)
		w.writeStatus(statusCtx)
	}()
	if phase := w.latest().Status.Phase; phase != corev1.PodSucceeded && phase != corev1.PodFailed {
		w.runPod()
	}
	<-w.ctx.Done()
	stopStatus()
	<-statusDone
	w.finish()
}

// runPod prepares the pod, runs its init containers in order, then its
// containers, and returns when they are all done for good or ctx ended.
func (w *podWorker) runPod() {
	if w.ctx.Err() != nil {
		return // deleted before it ran
	}
	w.log.Info("Running pod")
	if err := w.validate(); err != nil {
		w.fail(err)
		return
	}
	if !w.retry(w.setUp) {
		return
	}
	w.change(func() { w.created = true })
	for _, c := range w.inits {
		if !w.runInit(w.ctx, c) {
			return
		}
	}
	w.change(func() { w.initDone, w.launched = true, true })
	var wg sync.WaitGroup
	for _, c := range w.mains {
		wg.Go(func() { w.supervise(w.ctx, c) })
	}
	wg.Wait()
}

// validate rejects what the runner cannot run: environment variables
// other than values and the supported fieldRefs.
func (w *podWorker) validate() error {
	pod := w.latest()
	for _, c := range allContainers(pod) {
		if _, err := containerEnv(pod, c, w.nodeIP, w.podIP(), func(s string) string { return s }); err != nil {
			return err
		}
	}
	return nil
}

// fail marks the pod Failed with the reason in its status and log.
func (w *podWorker) fail(err error) {
	w.log.Error(err, "Pod cannot run")
	w.change(func() {
		w.failure = err.Error()
		for _, c := range append(w.inits, w.mains...) {
			c.status.State = corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "CreateContainerConfigError", Message: err.Error()}}
			c.done = true
		}
	})
}

// retry calls fn until it succeeds (true) or ctx ends (false), backing off
// and reporting the error in the containers' waiting state.
func (w *podWorker) retry(fn func(context.Context) error) bool {
	backOff := initialBackOff
	for {
		err := fn(w.ctx)
		if err == nil {
			return true
		}
		if w.ctx.Err() != nil {
			return false
		}
		w.log.Error(err, "Pod set-up failed, retrying", "backOff", backOff)
		w.change(func() {
			for _, c := range append(w.inits, w.mains...) {
				if c.status.State.Waiting != nil {
					c.status.State.Waiting.Message = err.Error()
				}
			}
		})
		select {
		case <-w.ctx.Done():
			return false
		case <-time.After(backOff):
		}
		backOff = min(2*backOff, maxBackOff)
	}
}

// setUp allocates the pod's ports, prepares its volumes and identity, and
// works out each container's command line and environment.
func (w *podWorker) setUp(ctx context.Context) error {
	pod := w.latest()
	ports, err := w.allocatePorts(pod)
	if err != nil {
		return err
	}
	dirs, err := w.r.opts.prepareVolumes(pod)
	if err != nil {
		return err
	}
	base := []string{"PATH=" + hostPath(), "HOSTNAME=" + hostname(pod)}
	if wantsToken(pod) {
		base = append(base, "KUBECONFIG="+w.identity.kubeconfig)
	}
	for _, c := range append(w.inits, w.mains...) {
		if err := w.build(pod, c, dirs, ports, base); err != nil {
			return err
		}
	}
	if !wantsToken(pod) {
		return nil
	}
	return w.setUpIdentity(ctx, pod)
}

// setUpIdentity writes the pod's kubeconfig and first token, and keeps
// the token fresh while the pod runs.
func (w *podWorker) setUpIdentity(ctx context.Context, pod *corev1.Pod) error {
	if err := w.identity.writeKubeconfig(w.r.opts.Config, pod.Namespace); err != nil {
		return err
	}
	next, err := w.requestToken(ctx)
	if err != nil {
		return err
	}
	go w.refreshToken(w.ctx, next)
	return nil
}

// build works out a container's command line, environment, working
// directory and log file on the host.
func (w *podWorker) build(pod *corev1.Pod, c *container, dirs map[string]string, ports map[int32]int32, base []string) error {
	mounts, err := containerMounts(c.spec, dirs)
	if err != nil {
		return err
	}
	rewrite := func(s string) string { return rewritePort(rewritePaths(s, mounts), ports) }
	vars, err := containerEnv(pod, c.spec, w.nodeIP, w.podIP(), rewrite)
	if err != nil {
		return err
	}
	defined := map[string]string{}
	c.env = append([]string(nil), base...)
	for _, v := range vars {
		defined[v[0]] = v[1]
		c.env = append(c.env, v[0]+"="+v[1])
	}
	c.argv = commandLine(w.r.opts.BinDir, c.spec, defined, rewrite)
	c.dir = filepath.Join(w.podDir, "work")
	if wd := rewritePaths(c.spec.WorkingDir, mounts); wd != c.spec.WorkingDir {
		c.dir = wd
	}
	if err := os.MkdirAll(c.dir, 0o750); err != nil {
		return fmt.Errorf("failed to create working directory: %w", err)
	}
	c.logPath = filepath.Join(w.r.opts.LogDir, pod.Namespace+"_"+pod.Name+"_"+c.spec.Name+".log")
	w.r.addLog(c.logPath)
	return nil
}

// allocatePorts maps every port the pod's containers declare to a free
// port on 127.0.0.1, once per pod: pods of several simulated nodes share
// the host's network.
func (w *podWorker) allocatePorts(pod *corev1.Pod) (map[int32]int32, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.ports != nil {
		return w.ports, nil
	}
	ports := map[int32]int32{}
	for _, c := range allContainers(pod) {
		for _, p := range c.Ports {
			if _, ok := ports[p.ContainerPort]; ok {
				continue
			}
			free, err := freePort()
			if err != nil {
				return nil, err
			}
			ports[p.ContainerPort] = free
		}
	}
	w.ports = ports
	return ports, nil
}

func freePort() (int32, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("failed to find a free port: %w", err)
	}
	defer func() { _ = l.Close() }()
	return int32(l.Addr().(*net.TCPAddr).Port), nil //nolint:gosec // a port fits
}

// podIP is the node's address for host-network pods; other pods have no
// network of their own and get the loopback address.
func (w *podWorker) podIP() string {
	if w.latest().Spec.HostNetwork {
		return w.nodeIP
	}
	return "127.0.0.1"
}

func hostname(pod *corev1.Pod) string {
	if pod.Spec.HostNetwork {
		return pod.Spec.NodeName
	}
	return pod.Name
}

func hostPath() string {
	if p := os.Getenv("PATH"); p != "" {
		return p
	}
	return "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
}

// finish deletes the pod object when its deletion ended the worker (as the
// kubelet does once the containers are gone) and removes the pod's
// directory. After the runner's Stop it leaves the API alone.
func (w *podWorker) finish() {
	w.mu.Lock()
	deleting := w.deleting
	w.mu.Unlock()
	if deleting && w.r.ctx.Err() == nil {
		w.deletePod()
	}
	if err := os.RemoveAll(w.podDir); err != nil {
		w.log.Error(err, "Failed to remove the pod directory")
	}
}

func (w *podWorker) deletePod() {
	pod := w.latest()
	opts := metav1.DeleteOptions{GracePeriodSeconds: ptr.To[int64](0), Preconditions: metav1.NewUIDPreconditions(string(pod.UID))}
	for {
		err := w.r.clientset.CoreV1().Pods(pod.Namespace).Delete(w.r.ctx, pod.Name, opts)
		if err == nil || apierrors.IsNotFound(err) || apierrors.IsConflict(err) || errors.Is(err, context.Canceled) {
			w.log.Info("Pod deleted")
			return
		}
		w.log.Error(err, "Failed to delete pod, retrying")
		select {
		case <-w.r.ctx.Done():
			return
		case <-time.After(time.Second):
		}
	}
}
