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

package realnodes

import (
	"context"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// podOption adjusts a test pod.
type podOption func(*corev1.Pod)

// withClaim mounts a claim at /data.
func withClaim(claim string) podOption {
	return func(p *corev1.Pod) {
		p.Spec.Volumes = append(p.Spec.Volumes, corev1.Volume{Name: "data", VolumeSource: corev1.VolumeSource{
			PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: claim},
		}})
		p.Spec.Containers[0].VolumeMounts = append(p.Spec.Containers[0].VolumeMounts, corev1.VolumeMount{Name: "data", MountPath: "/data"})
	}
}

// onNode pins the pod to a node.
func onNode(node string) podOption {
	return func(p *corev1.Pod) { p.Spec.NodeName = node }
}

// testPod is a busybox pod that runs script and then sleeps, so tests can
// exec into it. It stops at once when deleted.
func testPod(ns, name, script string, opts ...podOption) *corev1.Pod {
	p := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, Labels: map[string]string{"app": name}},
		Spec: corev1.PodSpec{
			TerminationGracePeriodSeconds: ptr.To[int64](0),
			Containers: []corev1.Container{{
				Name: "app", Image: busybox, ImagePullPolicy: corev1.PullIfNotPresent,
				Command: []string{"sh", "-c", script + "\nexec sleep 3600"},
			}},
		},
	}
	for _, o := range opts {
		o(p)
	}
	return p
}

// claim is a ReadWriteOnce claim of size in class.
func claim(ns, name, class, size string) *corev1.PersistentVolumeClaim {
	return &corev1.PersistentVolumeClaim{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec: corev1.PersistentVolumeClaimSpec{
			AccessModes:      []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
			StorageClassName: ptr.To(class),
			Resources: corev1.VolumeResourceRequirements{
				Requests: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse(size)},
			},
		},
	}
}

func (e *env) create(t testing.TB, objs ...client.Object) {
	t.Helper()
	for _, obj := range objs {
		if err := e.client.Create(t.Context(), obj); err != nil {
			t.Fatalf("failed to create %T %s: %v", obj, obj.GetName(), err)
		}
	}
}

// running waits until the pod runs and returns it.
func (e *env) running(t testing.TB, ns, name string) *corev1.Pod {
	t.Helper()
	p := &corev1.Pod{}
	e.poll(t, "pod "+ns+"/"+name+" running", func(ctx context.Context) (bool, error) {
		err := e.client.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, p)
		return err == nil && p.Status.Phase == corev1.PodRunning && ready(p), err
	})
	return p
}

func ready(p *corev1.Pod) bool {
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

// bound waits until the claim is bound and returns its volume.
func (e *env) bound(t testing.TB, ns, name string) *corev1.PersistentVolume {
	t.Helper()
	pvc := &corev1.PersistentVolumeClaim{}
	e.poll(t, "claim "+ns+"/"+name+" bound", func(ctx context.Context) (bool, error) {
		err := e.client.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, pvc)
		return err == nil && pvc.Status.Phase == corev1.ClaimBound, err
	})
	pv := &corev1.PersistentVolume{}
	if err := e.client.Get(t.Context(), client.ObjectKey{Name: pvc.Spec.VolumeName}, pv); err != nil {
		t.Fatal(err)
	}
	return pv
}

// deleteAndWait deletes objects and waits until they are gone.
func (e *env) deleteAndWait(t testing.TB, objs ...client.Object) {
	t.Helper()
	for _, obj := range objs {
		if err := e.client.Delete(t.Context(), obj); client.IgnoreNotFound(err) != nil {
			t.Fatal(err)
		}
	}
	for _, obj := range objs {
		e.poll(t, "deletion of "+obj.GetName(), func(ctx context.Context) (bool, error) {
			err := e.client.Get(ctx, client.ObjectKeyFromObject(obj), obj)
			return err != nil && client.IgnoreNotFound(err) == nil, nil
		})
	}
}

// volumeNode is the node a Plinth volume's affinity names.
func volumeNode(pv *corev1.PersistentVolume) string {
	if pv.Spec.NodeAffinity == nil || pv.Spec.NodeAffinity.Required == nil {
		return ""
	}
	for _, term := range pv.Spec.NodeAffinity.Required.NodeSelectorTerms {
		for _, e := range term.MatchExpressions {
			if e.Key == "topology.csi.plinth.dev/node" && len(e.Values) == 1 {
				return e.Values[0]
			}
		}
	}
	return ""
}
