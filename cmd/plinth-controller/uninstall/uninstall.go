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

package uninstall

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/wait"
	"sigs.k8s.io/controller-runtime/pkg/client"

	storagev1alpha1 "github.com/plinth-dev/plinth/apis/storage/v1alpha1"
	"github.com/plinth-dev/plinth/internal/wellknown"
)

// +kubebuilder:rbac:groups=apps,resources=daemonsets,verbs=get;patch,namespace=plinth-system
// +kubebuilder:rbac:groups="",resources=pods,verbs=list
// +kubebuilder:rbac:groups=storage.k8s.io,resources=csistoragecapacities,verbs=list;deletecollection,namespace=plinth-system
// +kubebuilder:rbac:groups=storage.plinth.dev,resources=storagepools,verbs=list;delete
// +kubebuilder:rbac:groups="",resources=nodes,verbs=list;patch

// Options configure the hook.
type Options struct {
	// Namespace and DaemonSet name plinth-node's DaemonSet.
	Namespace, DaemonSet string
	// DriverName is the CSI driver whose capacity objects and node
	// topology labels are removed.
	DriverName string
	// Timeout bounds the wait for the nodes.
	Timeout time.Duration
	// Out receives the report.
	Out io.Writer
}

// BindFlags registers the options as flags.
func (o *Options) BindFlags(fs *flag.FlagSet) {
	fs.StringVar(&o.Namespace, "namespace", os.Getenv("POD_NAMESPACE"), "Namespace of plinth-node's DaemonSet (default $POD_NAMESPACE).")
	fs.StringVar(&o.DaemonSet, "daemonset", "plinth-node", "Name of plinth-node's DaemonSet.")
	fs.StringVar(&o.DriverName, "driver-name", "csi.plinth.dev", "Name of the CSI driver.")
	fs.DurationVar(&o.Timeout, "timeout", 3*time.Minute, "How long to wait for the nodes to clean up.")
}

// Run asks every node to clean up, waits for them, and removes the rest.
func Run(ctx context.Context, c client.Client, o Options) error {
	ds := &appsv1.DaemonSet{}
	err := c.Get(ctx, client.ObjectKey{Namespace: o.Namespace, Name: o.DaemonSet}, ds)
	if client.IgnoreNotFound(err) != nil {
		return fmt.Errorf("failed to get daemonset %s/%s: %w", o.Namespace, o.DaemonSet, err)
	}
	if err == nil {
		if err := request(ctx, c, ds); err != nil {
			return err
		}
		pending, err := waitForNodes(ctx, c, ds, o.Timeout)
		if err != nil {
			return err
		}
		report(ctx, c, o.Out, pending)
	}
	return sweep(ctx, c, o)
}

// request annotates the DaemonSet; its pods see the change through their
// watch of it, without rolling out (the pod template is untouched).
func request(ctx context.Context, c client.Client, ds *appsv1.DaemonSet) error {
	patch, err := json.Marshal(map[string]any{"metadata": map[string]any{"annotations": map[string]string{
		wellknown.UninstallAnnotation: time.Now().UTC().Format(time.RFC3339),
	}}})
	if err != nil {
		return fmt.Errorf("failed to encode the uninstall request: %w", err)
	}
	if err := c.Patch(ctx, ds, client.RawPatch(types.MergePatchType, patch)); err != nil {
		return fmt.Errorf("failed to request the uninstall from daemonset %s: %w", ds.Name, err)
	}
	return nil
}

// waitForNodes waits until every running plinth-node pod reports its node
// clean, and returns the nodes whose pods have not when the timeout ends.
func waitForNodes(ctx context.Context, c client.Client, ds *appsv1.DaemonSet, timeout time.Duration) ([]string, error) {
	selector, err := metav1.LabelSelectorAsSelector(ds.Spec.Selector)
	if err != nil {
		return nil, fmt.Errorf("failed to read the daemonset's selector: %w", err)
	}
	var pending []string
	err = wait.PollUntilContextTimeout(ctx, time.Second, timeout, true, func(ctx context.Context) (bool, error) {
		pods := &corev1.PodList{}
		if err := c.List(ctx, pods, client.InNamespace(ds.Namespace), client.MatchingLabelsSelector{Selector: selector}); err != nil {
			return false, nil //nolint:nilerr // retried until the timeout
		}
		pending = notCleaned(pods.Items)
		return len(pending) == 0, nil
	})
	if err != nil && ctx.Err() != nil {
		return pending, fmt.Errorf("interrupted while waiting for the nodes: %w", ctx.Err())
	}
	return pending, nil
}

// notCleaned lists the nodes of running pods that have not reported.
func notCleaned(pods []corev1.Pod) []string {
	var out []string
	for _, p := range pods {
		if p.Status.Phase != corev1.PodRunning || p.DeletionTimestamp != nil {
			continue // a node without a running agent cannot clean up
		}
		if _, ok := p.Annotations[wellknown.NodeCleanedAnnotation]; !ok {
			out = append(out, p.Spec.NodeName)
		}
	}
	slices.Sort(out)
	return out
}

// report says which nodes did not confirm, and the pods that keep their
// nodes from removing the pod network (a runtime needs the plugin to tear a
// pod's network down, so a node waits for them to go).
func report(ctx context.Context, c client.Client, out io.Writer, pending []string) {
	if len(pending) == 0 {
		_, _ = fmt.Fprintln(out, "every node removed what Plinth installed on it")
		return
	}
	_, _ = fmt.Fprintf(out, "WARNING: nodes %s did not confirm their cleanup in time.\n", strings.Join(pending, ", "))
	pods := &corev1.PodList{}
	if err := c.List(ctx, pods); err == nil {
		for _, p := range pods.Items {
			if slices.Contains(pending, p.Spec.NodeName) && !p.Spec.HostNetwork && p.Status.Phase != corev1.PodSucceeded && p.Status.Phase != corev1.PodFailed {
				_, _ = fmt.Fprintf(out, "  pod %s/%s on %s still uses Plinth's pod network\n", p.Namespace, p.Name, p.Spec.NodeName)
			}
		}
	}
	_, _ = fmt.Fprintln(out, "Those nodes remove the pod network when plinth-node stops; pods still on it then cannot finish terminating. "+
		"Delete workloads before uninstalling; on a node that was down, run `plinth-node --cleanup-network` and remove an empty pool directory.")
}

// sweep deletes the API objects no node removed and the driver's topology
// labels on the Nodes.
func sweep(ctx context.Context, c client.Client, o Options) error {
	if err := c.DeleteAllOf(ctx, &storagev1.CSIStorageCapacity{}, client.InNamespace(o.Namespace),
		client.MatchingLabels{"csi.storage.k8s.io/drivername": o.DriverName}); err != nil {
		return fmt.Errorf("failed to delete the capacity objects: %w", err)
	}
	pools := &storagev1alpha1.StoragePoolList{}
	if err := c.List(ctx, pools); err != nil {
		return fmt.Errorf("failed to list storage pools: %w", err)
	}
	for i := range pools.Items {
		if err := c.Delete(ctx, &pools.Items[i]); client.IgnoreNotFound(err) != nil {
			return fmt.Errorf("failed to delete storage pool %s: %w", pools.Items[i].Name, err)
		}
	}
	return unlabelNodes(ctx, c, "topology."+o.DriverName+"/")
}

// unlabelNodes removes the labels with the prefix from every Node.
func unlabelNodes(ctx context.Context, c client.Client, prefix string) error {
	nodes := &corev1.NodeList{}
	if err := c.List(ctx, nodes); err != nil {
		return fmt.Errorf("failed to list nodes: %w", err)
	}
	for i := range nodes.Items {
		n := &nodes.Items[i]
		remove := map[string]any{}
		for k := range n.Labels {
			if strings.HasPrefix(k, prefix) {
				remove[k] = nil
			}
		}
		if len(remove) == 0 {
			continue
		}
		patch, err := json.Marshal(map[string]any{"metadata": map[string]any{"labels": remove}})
		if err != nil {
			return fmt.Errorf("failed to encode the label removal: %w", err)
		}
		if err := c.Patch(ctx, n, client.RawPatch(types.MergePatchType, patch)); err != nil {
			return fmt.Errorf("failed to remove the driver's labels from node %s: %w", n.Name, err)
		}
	}
	return nil
}
