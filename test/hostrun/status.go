package hostrun

import (
	"context"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/util/retry"
)

// writeStatus writes the pod's status whenever it changed, until ctx ends
// or the pod is gone. Changes made while a write is under way are written
// next, so the last state always reaches the API server.
func (w *podWorker) writeStatus(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-w.dirty:
		}
		err := w.updateStatus(ctx)
		switch {
		case err == nil:
			continue
		case apierrors.IsNotFound(err) || ctx.Err() != nil:
			return
		}
		w.log.Error(err, "Failed to update pod status, retrying")
		select {
		case <-ctx.Done():
			return
		case <-time.After(time.Second):
		}
		w.change(func() {})
	}
}

func (w *podWorker) updateStatus(ctx context.Context) error {
	pods := w.r.clientset.CoreV1().Pods(w.latest().Namespace)
	name := w.latest().Name
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		pod, err := pods.Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return fmt.Errorf("failed to get pod: %w", err)
		}
		if pod.UID != w.latest().UID {
			return apierrors.NewNotFound(schema.GroupResource{Resource: "pods"}, name)
		}
		status := w.podStatus(pod.Status)
		if equality.Semantic.DeepEqual(status, pod.Status) {
			return nil
		}
		pod.Status = status
		if _, err := pods.UpdateStatus(ctx, pod, metav1.UpdateOptions{}); err != nil {
			return fmt.Errorf("failed to update pod status: %w", err)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("failed to write status of pod %s: %w", name, err)
	}
	return nil
}

// podStatus is old with what the worker knows written over it; conditions
// the worker does not own (PodScheduled, readiness gates) are kept.
func (w *podWorker) podStatus(old corev1.PodStatus) corev1.PodStatus {
	w.mu.Lock()
	defer w.mu.Unlock()
	st := *old.DeepCopy()
	st.Phase = w.phase()
	if w.failure != "" {
		st.Reason, st.Message = "UnsupportedPodSpec", w.failure
	}
	st.HostIP, st.PodIP = w.nodeIP, w.podIPLocked()
	st.HostIPs = []corev1.HostIP{{IP: st.HostIP}}
	st.PodIPs = []corev1.PodIP{{IP: st.PodIP}}
	if st.StartTime == nil {
		st.StartTime = &w.startTime
	}
	st.InitContainerStatuses = statuses(w.inits)
	st.ContainerStatuses = statuses(w.mains)
	ready := w.containersReady()
	setCondition(&st, corev1.PodReadyToStartContainers, w.created, "")
	setCondition(&st, corev1.PodInitialized, w.initDone, "ContainersNotInitialized")
	setCondition(&st, corev1.ContainersReady, ready, "ContainersNotReady")
	setCondition(&st, corev1.PodReady, ready && gatesPass(w.pod, st.Conditions), "ContainersNotReady")
	return st
}

// phase follows the kubelet: Pending until the containers run, Running
// while any may run, then Succeeded when all exited 0, else Failed.
func (w *podWorker) phase() corev1.PodPhase {
	switch {
	case w.failure != "" || failedForGood(w.inits):
		return corev1.PodFailed
	case !w.initDone:
		return corev1.PodPending
	case allDone(w.mains):
		if failedForGood(w.mains) {
			return corev1.PodFailed
		}
		return corev1.PodSucceeded
	case w.launched:
		return corev1.PodRunning
	}
	return corev1.PodPending
}

func (w *podWorker) podIPLocked() string {
	if w.pod.Spec.HostNetwork {
		return w.nodeIP
	}
	return "127.0.0.1"
}

func (w *podWorker) containersReady() bool {
	for _, c := range w.mains {
		if !c.status.Ready {
			return false
		}
	}
	return w.launched
}

func allDone(cs []*container) bool {
	for _, c := range cs {
		if !c.done {
			return false
		}
	}
	return len(cs) > 0
}

func failedForGood(cs []*container) bool {
	for _, c := range cs {
		if c.done && (c.status.State.Terminated == nil || c.status.State.Terminated.ExitCode != 0) {
			return true
		}
	}
	return false
}

func statuses(cs []*container) []corev1.ContainerStatus {
	out := make([]corev1.ContainerStatus, 0, len(cs))
	for _, c := range cs {
		out = append(out, *c.status.DeepCopy())
	}
	return out
}

// gatesPass reports whether every readiness gate's condition is True.
func gatesPass(pod *corev1.Pod, conditions []corev1.PodCondition) bool {
	for _, gate := range pod.Spec.ReadinessGates {
		if !conditionTrue(conditions, gate.ConditionType) {
			return false
		}
	}
	return true
}

func conditionTrue(conditions []corev1.PodCondition, t corev1.PodConditionType) bool {
	for _, c := range conditions {
		if c.Type == t {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

// setCondition sets a condition, moving its transition time only when its
// status changes.
func setCondition(st *corev1.PodStatus, t corev1.PodConditionType, value bool, falseReason string) {
	status, reason := corev1.ConditionTrue, ""
	if !value {
		status, reason = corev1.ConditionFalse, falseReason
	}
	for i := range st.Conditions {
		c := &st.Conditions[i]
		if c.Type != t {
			continue
		}
		if c.Status != status {
			c.LastTransitionTime = metav1.Now()
		}
		c.Status, c.Reason = status, reason
		return
	}
	st.Conditions = append(st.Conditions, corev1.PodCondition{Type: t, Status: status, Reason: reason, LastTransitionTime: metav1.Now()})
}
