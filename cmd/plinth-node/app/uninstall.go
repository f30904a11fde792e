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

package app

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
	"time"

	"github.com/go-logr/logr"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/log"

	storagev1alpha1 "github.com/plinth-dev/plinth/apis/storage/v1alpha1"
	"github.com/plinth-dev/plinth/cni-plugin/agent"
	"github.com/plinth-dev/plinth/csi-driver/hostmount"
	"github.com/plinth-dev/plinth/internal/wellknown"
)

// +kubebuilder:rbac:groups=apps,resources=daemonsets,verbs=get;list;watch,namespace=plinth-system
// +kubebuilder:rbac:groups="",resources=pods,verbs=patch,namespace=plinth-system
// +kubebuilder:rbac:groups=storage.plinth.dev,resources=storagepools,verbs=delete
// +kubebuilder:rbac:groups=storage.k8s.io,resources=csistoragecapacities,verbs=deletecollection,namespace=plinth-system

// errUninstall ends the node's normal run when the chart's pre-delete hook
// asks every node to remove what Plinth installed.
var errUninstall = errors.New("uninstall requested")

// uninstaller watches plinth-node's DaemonSet for the uninstall request and
// carries it out on this node.
type uninstaller struct {
	cfg       Config
	clientset kubernetes.Interface
	client    client.Client
	requested chan struct{}
}

func newUninstaller(cfg Config) (*uninstaller, error) {
	cs, err := kubernetes.NewForConfig(cfg.RestConfig)
	if err != nil {
		return nil, fmt.Errorf("failed to create a client: %w", err)
	}
	scheme, err := Scheme()
	if err != nil {
		return nil, err
	}
	c, err := client.New(cfg.RestConfig, client.Options{Scheme: scheme})
	if err != nil {
		return nil, fmt.Errorf("failed to create a client: %w", err)
	}
	return &uninstaller{cfg: cfg, clientset: cs, client: c, requested: make(chan struct{})}, nil
}

// watch starts an informer on the one DaemonSet and returns once it has
// synced; requested is closed when the DaemonSet carries the request.
func (u *uninstaller) watch(ctx context.Context) error {
	factory := informers.NewSharedInformerFactoryWithOptions(u.clientset, 0,
		informers.WithNamespace(u.cfg.Namespace),
		informers.WithTweakListOptions(func(o *metav1.ListOptions) { o.FieldSelector = "metadata.name=" + u.cfg.DaemonSet }))
	inf := factory.Apps().V1().DaemonSets().Informer()
	closed := false
	check := func(obj any) {
		if ds, ok := obj.(*appsv1.DaemonSet); ok && !closed && ds.Annotations[wellknown.UninstallAnnotation] != "" {
			closed = true // the informer calls handlers one at a time
			close(u.requested)
		}
	}
	if _, err := inf.AddEventHandler(cache.ResourceEventHandlerFuncs{AddFunc: check, UpdateFunc: func(_, o any) { check(o) }}); err != nil {
		return fmt.Errorf("failed to watch daemonset %s: %w", u.cfg.DaemonSet, err)
	}
	factory.Start(ctx.Done())
	if !cache.WaitForCacheSync(ctx.Done(), inf.HasSynced) {
		return fmt.Errorf("failed to read daemonset %s/%s", u.cfg.Namespace, u.cfg.DaemonSet)
	}
	return nil
}

// isRequested reports whether the request has come.
func (u *uninstaller) isRequested() bool {
	select {
	case <-u.requested:
		return true
	default:
		return false
	}
}

// run removes what Plinth installed on this node, reports it on the pod,
// and waits to be stopped: the DaemonSet goes next, and a restarted
// container must not install anything again. Storage goes at once; the
// network only once no pod of the node uses it, since the runtime needs the
// plugin to tear a pod's network down (without it the pod never finishes
// terminating). If pods remain when the DaemonSet goes, the network goes
// anyway, on the way out.
func (u *uninstaller) run(ctx context.Context) error {
	logger := log.FromContext(ctx).WithValues("node", u.cfg.Plugin.NodeName)
	logger.Info("uninstall requested: removing what Plinth installed on this node")
	networkDone := false
	err := retry(ctx, logger, func(ctx context.Context) error {
		if err := u.deleteObjects(ctx); err != nil {
			return err
		}
		if err := u.cleanPool(ctx); err != nil {
			return err
		}
		if err := u.cleanPluginDir(); err != nil {
			return err
		}
		if err := u.waitForPodNetworkPods(ctx); err != nil {
			return err
		}
		if err := u.cleanNetwork(ctx); err != nil {
			return err
		}
		networkDone = true
		return u.report(ctx)
	})
	if err == nil {
		logger.Info("node cleaned up; waiting for the DaemonSet to go")
		<-ctx.Done()
	}
	if !networkDone {
		final, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer cancel()
		logger.Info("stopped before the node's pods left its network; removing the network now")
		return u.cleanNetwork(final)
	}
	return nil
}

// retry runs step every 2s until it succeeds or ctx ends.
func retry(ctx context.Context, logger logr.Logger, step func(context.Context) error) error {
	return wait.PollUntilContextCancel(ctx, 2*time.Second, true, func(ctx context.Context) (bool, error) {
		if err := step(ctx); err != nil {
			logger.Info("uninstall step not done; retrying", "reason", err.Error())
			return false, nil
		}
		return true, nil
	})
}

// waitForPodNetworkPods fails while a pod of this node is on the pod network.
func (u *uninstaller) waitForPodNetworkPods(ctx context.Context) error {
	if u.cfg.Network == nil {
		return nil
	}
	pods := &corev1.PodList{}
	if err := u.client.List(ctx, pods, client.MatchingFields{"spec.nodeName": u.cfg.Plugin.NodeName}); err != nil {
		return fmt.Errorf("failed to list the node's pods: %w", err)
	}
	var using []string
	for _, p := range pods.Items {
		if !p.Spec.HostNetwork && p.Status.Phase != corev1.PodSucceeded && p.Status.Phase != corev1.PodFailed {
			using = append(using, p.Namespace+"/"+p.Name)
		}
	}
	if len(using) > 0 {
		return fmt.Errorf("pods still on the pod network: %v", using)
	}
	return nil
}

func (u *uninstaller) cleanNetwork(ctx context.Context) error {
	if u.cfg.Network == nil {
		return nil
	}
	a, err := agent.New(*u.cfg.Network)
	if err != nil {
		return fmt.Errorf("failed to configure the network agent: %w", err)
	}
	if err := a.Uninstall(ctx); err != nil {
		return err
	}
	// The kubelet made these host paths for the pod's volumes.
	return hostmount.RemoveEmpty(u.cfg.HostMountNS, a.DataDir(), filepath.Dir(a.StateFile()))
}

// deleteObjects deletes the node's StoragePool and capacity objects.
func (u *uninstaller) deleteObjects(ctx context.Context) error {
	pool := &storagev1alpha1.StoragePool{ObjectMeta: metav1.ObjectMeta{Name: u.cfg.Plugin.NodeName}}
	if err := u.client.Delete(ctx, pool); client.IgnoreNotFound(err) != nil {
		return fmt.Errorf("failed to delete storage pool %s: %w", pool.Name, err)
	}
	err := u.client.DeleteAllOf(ctx, &storagev1.CSIStorageCapacity{}, client.InNamespace(u.cfg.Namespace),
		client.MatchingLabels{wellknown.LabelCapacityManagedBy: wellknown.CapacityManagedBy(u.cfg.Plugin.NodeName)})
	if err != nil {
		return fmt.Errorf("failed to delete the node's capacity objects: %w", err)
	}
	return nil
}

// cleanPool removes an empty pool: its Plinth directories, then the
// directory itself (if nothing else is in it) and the bind mount
// prepare-host made of it. A pool that
// still holds volumes or snapshots (kept by a Retain policy, or of claims
// not deleted) stays whole.
func (u *uninstaller) cleanPool(ctx context.Context) error {
	dir := u.cfg.Plugin.PoolDir
	if u.cfg.Plugin.Backend != nil || dir == "" {
		return nil
	}
	for _, sub := range []string{"volumes", "snapshots"} {
		entries, err := os.ReadDir(filepath.Join(dir, sub))
		if err != nil && !os.IsNotExist(err) {
			return fmt.Errorf("failed to read the pool: %w", err)
		}
		if len(entries) > 0 {
			log.FromContext(ctx).Info("the pool keeps data; leaving it in place", "dir", filepath.Join(dir, sub), "entries", len(entries))
			return nil
		}
	}
	for _, sub := range []string{"volumes", "snapshots"} {
		if err := os.Remove(filepath.Join(dir, sub)); err != nil && !os.IsNotExist(err) {
			return fmt.Errorf("failed to remove the pool's %s directory: %w", sub, err)
		}
	}
	if _, err := hostmount.Release(u.cfg.HostMountNS, dir); err != nil {
		return fmt.Errorf("failed to release the pool directory: %w", err)
	}
	return nil
}

// cleanPluginDir removes the driver's socket directory in the kubelet's
// plugin directory, empty once the driver has stopped unless it keeps the
// orphan sweep's ledger of volumes still to delete, which stays for the
// next install.
func (u *uninstaller) cleanPluginDir() error {
	dir := pluginDir(u.cfg.Plugin)
	if err := os.Remove(dir); err != nil && !os.IsNotExist(err) && !errors.Is(err, syscall.ENOTEMPTY) {
		return fmt.Errorf("failed to remove the driver's socket directory: %w", err)
	}
	return nil
}

// report annotates this plinth-node pod for the hook that waits for it.
func (u *uninstaller) report(ctx context.Context) error {
	patch, err := json.Marshal(map[string]any{"metadata": map[string]any{"annotations": map[string]string{
		wellknown.NodeCleanedAnnotation: time.Now().UTC().Format(time.RFC3339),
	}}})
	if err != nil {
		return fmt.Errorf("failed to encode the report: %w", err)
	}
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: u.cfg.Namespace, Name: u.cfg.PodName}}
	if err := u.client.Patch(ctx, pod, client.RawPatch(types.MergePatchType, patch)); err != nil {
		return fmt.Errorf("failed to report the cleanup on pod %s: %w", u.cfg.PodName, err)
	}
	return nil
}
