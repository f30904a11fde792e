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

package selftest

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"time"

	snapshotv1 "github.com/kubernetes-csi/external-snapshotter/client/v8/apis/volumesnapshot/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/rand"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// The self test's objects live in its own namespace (the chart's).
// +kubebuilder:rbac:groups="",resources=persistentvolumeclaims,verbs=get;create;delete,namespace=plinth-system
// +kubebuilder:rbac:groups="",resources=pods,verbs=get;create;delete,namespace=plinth-system
// +kubebuilder:rbac:groups=snapshot.storage.k8s.io,resources=volumesnapshots,verbs=get;create;delete,namespace=plinth-system

// Options configures one run.
type Options struct {
	// Namespace receives the claim, the consumer pod and the snapshot.
	Namespace string
	// StorageClass and SnapshotClass name the classes under test; empty
	// selects the cluster's defaults.
	StorageClass, SnapshotClass string
	// Size is the claim's request.
	Size string
	// Image runs the consumer pod (`<image> pause`).
	Image string
	// Timeout bounds each wait.
	Timeout time.Duration
	// Out receives progress lines.
	Out io.Writer
}

// BindFlags binds the options to fs.
func (o *Options) BindFlags(fs *flag.FlagSet) {
	fs.StringVar(&o.Namespace, "namespace", "", "Namespace of the test objects.")
	fs.StringVar(&o.StorageClass, "storage-class", "", "StorageClass to test (default: the cluster's default).")
	fs.StringVar(&o.SnapshotClass, "snapshot-class", "", "VolumeSnapshotClass to test (default: the default for the driver).")
	fs.StringVar(&o.Size, "size", "64Mi", "Size of the test claim.")
	fs.StringVar(&o.Image, "image", "", "Image of the consumer pod; it runs `<image> pause`.")
	fs.DurationVar(&o.Timeout, "timeout", 3*time.Minute, "Time each step may take.")
}

// Run provisions, mounts and snapshots a claim and cleans up, whatever
// happened. The returned error names the step that failed.
func Run(ctx context.Context, c client.Client, o Options) (err error) {
	if o.Namespace == "" || o.Image == "" {
		return errors.New("--namespace and --image are required")
	}
	size, err := resource.ParseQuantity(o.Size)
	if err != nil {
		return fmt.Errorf("invalid --size %q: %w", o.Size, err)
	}
	name := "plinth-selftest-" + rand.String(5)
	objs := []client.Object{o.claim(name, size), o.pod(name), o.snapshot(name)}
	defer func() { err = errors.Join(err, cleanup(c, objs, o.Out)) }()
	return o.steps(ctx, c, objs)
}

// steps creates the objects in order and waits for each to work.
func (o Options) steps(ctx context.Context, c client.Client, objs []client.Object) error {
	claim, pod, snap := objs[0].(*corev1.PersistentVolumeClaim), objs[1].(*corev1.Pod), objs[2].(*snapshotv1.VolumeSnapshot)
	for _, obj := range []client.Object{claim, pod} {
		if err := c.Create(ctx, obj); err != nil {
			return fmt.Errorf("failed to create %T %s: %w", obj, obj.GetName(), err)
		}
	}
	o.printf("created claim %s/%s and its consumer pod", claim.Namespace, claim.Name)
	if err := o.wait(ctx, c, claim, func() bool { return claim.Status.Phase == corev1.ClaimBound }); err != nil {
		return fmt.Errorf("claim %s not bound: %w", claim.Name, err)
	}
	o.printf("claim bound to %s", claim.Spec.VolumeName)
	if err := o.wait(ctx, c, pod, func() bool { return podReady(pod) }); err != nil {
		return fmt.Errorf("consumer pod %s with the volume mounted not running: %w", pod.Name, err)
	}
	o.printf("consumer pod running on %s with the volume mounted", pod.Spec.NodeName)
	if err := c.Create(ctx, snap); err != nil {
		return fmt.Errorf("failed to create snapshot %s: %w", snap.Name, err)
	}
	if err := o.wait(ctx, c, snap, func() bool { return snapshotReady(snap) }); err != nil {
		return fmt.Errorf("snapshot %s not ready: %w", snap.Name, errors.Join(err, snapshotError(snap)))
	}
	o.printf("snapshot %s ready to use, restore size %v", snap.Name, snap.Status.RestoreSize)
	return nil
}

// wait polls obj until done reports true or the step's time is up.
func (o Options) wait(ctx context.Context, c client.Client, obj client.Object, done func() bool) error {
	return wait.PollUntilContextTimeout(ctx, time.Second, o.Timeout, true, func(ctx context.Context) (bool, error) {
		if err := c.Get(ctx, client.ObjectKeyFromObject(obj), obj); err != nil {
			return false, client.IgnoreNotFound(err)
		}
		return done(), nil
	})
}

// podReady: the kubelet has mounted the volume and started the container.
func podReady(p *corev1.Pod) bool {
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

func snapshotReady(s *snapshotv1.VolumeSnapshot) bool {
	return s.Status != nil && ptr.Deref(s.Status.ReadyToUse, false)
}

func snapshotError(s *snapshotv1.VolumeSnapshot) error {
	if s.Status == nil || s.Status.Error == nil {
		return nil
	}
	return fmt.Errorf("snapshot error: %s", ptr.Deref(s.Status.Error.Message, "(no message)"))
}

// cleanup deletes the test's objects, snapshot first, with a context of its
// own so that a cancelled run still cleans up.
func cleanup(c client.Client, objs []client.Object, out io.Writer) error {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var errs []error
	for i := len(objs) - 1; i >= 0; i-- {
		err := c.Delete(ctx, objs[i], client.PropagationPolicy(metav1.DeletePropagationBackground))
		if err != nil && !apierrors.IsNotFound(err) {
			errs = append(errs, fmt.Errorf("failed to delete %s: %w", objs[i].GetName(), err))
		}
	}
	if out != nil {
		_, _ = fmt.Fprintln(out, "deleted the test objects")
	}
	return errors.Join(errs...)
}

func (o Options) printf(format string, args ...any) {
	if o.Out != nil {
		_, _ = fmt.Fprintf(o.Out, format+"\n", args...)
	}
}
