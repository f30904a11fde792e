package hostrun

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"os"
	"slices"
	"sync"

	"github.com/go-logr/logr"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// Runner plays the kubelet for simulated nodes, running their pods as host
// processes.
type Runner struct {
	opts      Options
	log       logr.Logger
	clientset kubernetes.Interface
	client    client.Client
	nodeIPs   map[string]string
	ctx       context.Context
	cancel    context.CancelFunc
	informers []informers.SharedInformerFactory
	pods      sync.WaitGroup // pod workers
	watchers  sync.WaitGroup // plugin watchers

	mu      sync.Mutex
	stopped bool
	workers map[types.UID]*podWorker
	skipped map[types.UID]bool
	logs    map[string]bool
	errs    []error // processes that could not be killed
}

// Start starts playing the kubelet for opts.Nodes and returns once the
// runner knows every pod already bound to them. It runs until Stop; when
// ctx is cancelled, the processes are killed too, but only Stop waits for
// them.
func Start(ctx context.Context, opts Options) (*Runner, error) {
	if err := opts.setDefaults(); err != nil {
		return nil, err
	}
	r := &Runner{
		opts: opts, log: opts.Logger.WithName("hostrun"),
		nodeIPs: map[string]string{}, workers: map[types.UID]*podWorker{}, skipped: map[types.UID]bool{}, logs: map[string]bool{},
	}
	var err error
	if r.clientset, err = kubernetes.NewForConfig(opts.Config); err != nil {
		return nil, fmt.Errorf("failed to create clientset: %w", err)
	}
	if r.client, err = client.New(opts.Config, client.Options{}); err != nil {
		return nil, fmt.Errorf("failed to create client: %w", err)
	}
	if err := r.prepareNodes(ctx); err != nil {
		return nil, err
	}
	r.ctx, r.cancel = context.WithCancel(ctx)
	for _, node := range opts.Nodes {
		r.watchPlugins(node)
		if err := r.watchPods(ctx, node); err != nil {
			return nil, errors.Join(err, r.Stop())
		}
	}
	return r, nil
}

// prepareNodes reads each node's InternalIP and creates its kubelet
// directories, the log directory and the pods' directory.
func (r *Runner) prepareNodes(ctx context.Context) error {
	dirs := []string{r.opts.LogDir, r.opts.podDir("")}
	for _, name := range r.opts.Nodes {
		node, err := r.clientset.CoreV1().Nodes().Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return fmt.Errorf("failed to get node %s: %w", name, err)
		}
		r.nodeIPs[name] = internalIP(node)
		dirs = append(dirs, r.opts.registryDir(name))
	}
	for _, dir := range dirs {
		if err := os.MkdirAll(dir, 0o755); err != nil { //nolint:gosec // node directories are world-readable, as on a node
			return fmt.Errorf("failed to create %s: %w", dir, err)
		}
	}
	return nil
}

func internalIP(node *corev1.Node) string {
	for _, a := range node.Status.Addresses {
		if a.Type == corev1.NodeInternalIP {
			return a.Address
		}
	}
	return "127.0.0.1"
}

// watchPods follows the pods bound to node, as the kubelet does, and waits
// until it has seen those that exist.
func (r *Runner) watchPods(ctx context.Context, node string) error {
	factory := informers.NewSharedInformerFactoryWithOptions(r.clientset, 0, informers.WithTweakListOptions(func(o *metav1.ListOptions) {
		o.FieldSelector = "spec.nodeName=" + node
	}))
	r.informers = append(r.informers, factory)
	informer := factory.Core().V1().Pods().Informer()
	_, err := informer.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    func(obj any) { r.podChanged(obj) },
		UpdateFunc: func(_, obj any) { r.podChanged(obj) },
		DeleteFunc: r.podGone,
	})
	if err != nil {
		return fmt.Errorf("failed to watch pods of node %s: %w", node, err)
	}
	factory.Start(r.ctx.Done())
	if !cache.WaitForCacheSync(ctx.Done(), informer.HasSynced) {
		return fmt.Errorf("failed to list pods of node %s: %w", node, ctx.Err())
	}
	return nil
}

// podChanged hands a pod to its worker, starting one for a pod the runner
// runs, or logs once why the runner leaves the pod alone.
func (r *Runner) podChanged(obj any) {
	pod, ok := obj.(*corev1.Pod)
	if !ok {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.stopped {
		return
	}
	if w := r.workers[pod.UID]; w != nil {
		w.observe(pod)
		return
	}
	if !r.watchesNamespace(pod.Namespace) {
		return
	}
	if r.skipped[pod.UID] {
		r.confirmDeletion(pod)
		return
	}
	if why := skipReason(pod, r.opts.ImagePrefix); why != "" {
		r.skipped[pod.UID] = true
		r.log.Info("Leaving pod alone", "pod", pod.Namespace+"/"+pod.Name, "reason", why)
		r.confirmDeletion(pod)
		return
	}
	w := newPodWorker(r, pod)
	r.workers[pod.UID] = w
	r.pods.Go(w.run)
	w.observe(pod)
}

// confirmDeletion deletes a pod the runner left alone once it is being
// deleted, as the node's kubelet does for a pod whose containers never
// started; without it the pod (and the claims it protects) would stay
// Terminating for ever.
func (r *Runner) confirmDeletion(pod *corev1.Pod) {
	if pod.DeletionTimestamp == nil {
		return
	}
	opts := metav1.DeleteOptions{GracePeriodSeconds: ptr.To[int64](0), Preconditions: metav1.NewUIDPreconditions(string(pod.UID))}
	r.pods.Go(func() {
		err := r.clientset.CoreV1().Pods(pod.Namespace).Delete(r.ctx, pod.Name, opts)
		if err != nil && !apierrors.IsNotFound(err) && !apierrors.IsConflict(err) {
			r.log.Error(err, "Failed to confirm the deletion of a pod left alone", "pod", pod.Namespace+"/"+pod.Name)
		}
	})
}

func (r *Runner) watchesNamespace(ns string) bool {
	return len(r.opts.Namespaces) == 0 || slices.Contains(r.opts.Namespaces, ns)
}

// podGone kills the processes of a pod deleted from the API server.
func (r *Runner) podGone(obj any) {
	if tombstone, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		obj = tombstone.Obj
	}
	pod, ok := obj.(*corev1.Pod)
	if !ok {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	delete(r.skipped, pod.UID)
	if w := r.workers[pod.UID]; w != nil {
		delete(r.workers, pod.UID)
		w.terminate(podGrace(pod), false)
	}
}

// Stop kills every process the runner started (SIGTERM, then SIGKILL after
// the pod's grace period, at most 10s) and waits until they are gone. It
// neither updates nor deletes pods, so their objects stay as they were.
func (r *Runner) Stop() error {
	r.mu.Lock()
	if r.stopped {
		r.mu.Unlock()
		return nil
	}
	r.stopped = true
	for _, w := range r.workers {
		w.terminate(w.gracePeriod(), false)
	}
	r.mu.Unlock()
	r.cancel()
	r.pods.Wait()
	r.watchers.Wait()
	for _, f := range r.informers {
		f.Shutdown()
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	return errors.Join(r.errs...)
}

// recordError keeps an error for Stop to return.
func (r *Runner) recordError(err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.errs = append(r.errs, err)
}

// LogFiles lists the containers' log files written so far.
func (r *Runner) LogFiles() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Sorted(maps.Keys(r.logs))
}

func (r *Runner) addLog(path string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.logs[path] = true
}

// HostPorts maps each container port a running pod declares to the port
// on 127.0.0.1 its processes were given instead; nil for a pod not run.
func (r *Runner) HostPorts(namespace, name string) map[int32]int32 {
	r.mu.Lock()
	workers := slices.Collect(maps.Values(r.workers))
	r.mu.Unlock()
	for _, w := range workers {
		if pod := w.latest(); pod.Namespace == namespace && pod.Name == name {
			w.mu.Lock()
			defer w.mu.Unlock()
			return maps.Clone(w.ports)
		}
	}
	return nil
}
