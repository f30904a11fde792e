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
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/tools/cache"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// startupPods is the burst of each kind of pod BenchmarkPodStartup times.
const startupPods = 50

// BenchmarkPodStartup times, on the real nodes and in one run, bursts of
// 50 pods from creation to Running: pods with an emptyDir (no storage work
// at all), pods with pre-created static local PVs of a no-provisioner
// WaitForFirstConsumer class, and pods each with a fresh claim of Plinth's
// default class (provisioned, formatted and mounted on the pod's node).
// It reports each kind's p50 and p99 and the fresh-claim/emptyDir ratios.
func BenchmarkPodStartup(b *testing.B) {
	e := benchCluster(b)
	kinds := []struct {
		name  string
		setup func(b *testing.B, ns string) []*corev1.Pod
	}{
		{"emptyDir", e.emptyDirPods},
		{"staticPV", e.staticPVPods},
		{"freshClaim", e.freshClaimPods},
	}
	for range b.N {
		p50 := map[string]time.Duration{}
		p99 := map[string]time.Duration{}
		for _, k := range kinds {
			ns := e.benchNamespace(b, "startup-"+strings.ToLower(k.name))
			p50[k.name], p99[k.name] = report(b, k.name, e.timeToRunning(b, ns, k.setup(b, ns)))
			e.deleteNamespace(b, ns)
			e.deleteStaticPVs(b)
		}
		b.ReportMetric(p50["freshClaim"].Seconds()/p50["emptyDir"].Seconds(), "fresh/emptyDir-p50")
		b.ReportMetric(p99["freshClaim"].Seconds()/p99["emptyDir"].Seconds(), "fresh/emptyDir-p99")
	}
}

func (e *env) emptyDirPods(_ *testing.B, ns string) []*corev1.Pod {
	pods := make([]*corev1.Pod, startupPods)
	for i := range pods {
		pods[i] = testPod(ns, fmt.Sprintf("p%d", i), "echo data > /data/x", func(p *corev1.Pod) {
			p.Spec.Volumes = []corev1.Volume{{Name: "data", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}}}
			p.Spec.Containers[0].VolumeMounts = []corev1.VolumeMount{{Name: "data", MountPath: "/data"}}
		})
	}
	return pods
}

func (e *env) freshClaimPods(b *testing.B, ns string) []*corev1.Pod {
	pods := make([]*corev1.Pod, startupPods)
	for i := range pods {
		name := fmt.Sprintf("p%d", i)
		e.createB(b, claim(ns, name, "plinth", "32Mi"))
		pods[i] = testPod(ns, name, "echo data > /data/x", withClaim(name))
	}
	return pods
}

// staticPVPods pre-creates, half on each node, local PVs of directories
// made on the nodes, and claims of their class.
func (e *env) staticPVPods(b *testing.B, ns string) []*corev1.Pod {
	class := "bench-static"
	mode := storagev1.VolumeBindingWaitForFirstConsumer
	_ = e.client.Delete(b.Context(), &storagev1.StorageClass{ObjectMeta: metav1.ObjectMeta{Name: class}})
	e.createB(b, &storagev1.StorageClass{ObjectMeta: metav1.ObjectMeta{Name: class}, Provisioner: "kubernetes.io/no-provisioner", VolumeBindingMode: &mode})
	pods := make([]*corev1.Pod, startupPods)
	for i := range pods {
		n := e.cluster.Nodes[i%len(e.cluster.Nodes)]
		dir := fmt.Sprintf("/var/lib/kubelet/bench-disks/%s/disk-%d", ns, i)
		if _, err := n.Run(b.Context(), "mkdir", "-p", dir); err != nil {
			b.Fatal(err)
		}
		name := fmt.Sprintf("p%d", i)
		e.createB(b, staticPV(ns+"-"+name, class, n.Name(), dir), claim(ns, name, class, "32Mi"))
		pods[i] = testPod(ns, name, "echo data > /data/x", withClaim(name))
	}
	return pods
}

// deleteStaticPVs deletes the static PVs (a local PV of no provisioner is
// never deleted by its reclaim policy) and waits for them to go.
func (e *env) deleteStaticPVs(b *testing.B) {
	ctx := context.WithoutCancel(b.Context())
	pvs := &corev1.PersistentVolumeList{}
	if err := e.client.List(ctx, pvs); err != nil {
		b.Fatal(err)
	}
	for i := range pvs.Items {
		if pvs.Items[i].Spec.StorageClassName == "bench-static" {
			if err := e.client.Delete(ctx, &pvs.Items[i]); client.IgnoreNotFound(err) != nil {
				b.Fatal(err)
			}
		}
	}
	e.poll(b, "static PVs deleted", func(ctx context.Context) (bool, error) {
		pvs := &corev1.PersistentVolumeList{}
		err := e.client.List(ctx, pvs)
		return err == nil && !slices.ContainsFunc(pvs.Items, func(pv corev1.PersistentVolume) bool {
			return pv.Spec.StorageClassName == "bench-static"
		}), err
	})
}

func staticPV(name, class, node, path string) *corev1.PersistentVolume {
	return &corev1.PersistentVolume{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: corev1.PersistentVolumeSpec{
			Capacity:                      corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("32Mi")},
			AccessModes:                   []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
			PersistentVolumeReclaimPolicy: corev1.PersistentVolumeReclaimRetain,
			StorageClassName:              class,
			PersistentVolumeSource:        corev1.PersistentVolumeSource{Local: &corev1.LocalVolumeSource{Path: path}},
			NodeAffinity: &corev1.VolumeNodeAffinity{Required: &corev1.NodeSelector{NodeSelectorTerms: []corev1.NodeSelectorTerm{{
				MatchExpressions: []corev1.NodeSelectorRequirement{{Key: "kubernetes.io/hostname", Operator: corev1.NodeSelectorOpIn, Values: []string{node}}},
			}}}},
		},
	}
}

// startup is when one pod of a burst reached each stage, from its creation.
type startup struct {
	scheduled, running time.Duration
}

// timeToRunning creates the pods at once and returns, for each, the time
// from its creation until an informer sees it bound to a node, and until it
// sees it Running.
func (e *env) timeToRunning(b *testing.B, ns string, pods []*corev1.Pod) []startup {
	var mu sync.Mutex
	created := make(map[string]time.Time, len(pods))
	stages := map[string]*startup{}
	done := make(chan struct{})
	observe := func(obj any) {
		p, ok := obj.(*corev1.Pod)
		if !ok {
			return
		}
		now := time.Now()
		mu.Lock()
		defer mu.Unlock()
		st := stages[p.Name]
		if st == nil {
			st = &startup{}
			stages[p.Name] = st
		}
		if p.Spec.NodeName != "" && st.scheduled == 0 {
			st.scheduled = now.Sub(created[p.Name])
		}
		if p.Status.Phase == corev1.PodRunning && st.running == 0 {
			st.running = now.Sub(created[p.Name])
			if countRunning(stages) == len(pods) {
				close(done)
			}
		}
	}
	factory := informers.NewSharedInformerFactoryWithOptions(e.cluster.Clientset, 0, informers.WithNamespace(ns))
	inf := factory.Core().V1().Pods().Informer()
	if _, err := inf.AddEventHandler(cache.ResourceEventHandlerFuncs{AddFunc: observe, UpdateFunc: func(_, o any) { observe(o) }}); err != nil {
		b.Fatal(err)
	}
	stop := make(chan struct{})
	defer close(stop)
	factory.Start(stop)
	cache.WaitForCacheSync(stop, inf.HasSynced)
	var wg sync.WaitGroup
	for _, p := range pods {
		mu.Lock()
		created[p.Name] = time.Now()
		mu.Unlock()
		wg.Go(func() {
			if err := e.client.Create(b.Context(), p); err != nil {
				b.Error(err)
			}
		})
	}
	wg.Wait()
	select {
	case <-done:
	case <-time.After(10 * time.Minute):
		b.Fatalf("only %d of %d pods Running after 10 minutes", countRunning(stages), len(pods))
	}
	mu.Lock()
	defer mu.Unlock()
	out := make([]startup, 0, len(stages))
	for _, st := range stages {
		out = append(out, *st)
	}
	return out
}

func countRunning(stages map[string]*startup) int {
	n := 0
	for _, st := range stages {
		if st.running != 0 {
			n++
		}
	}
	return n
}

// report adds a kind's percentiles of the two stages to the benchmark's
// metrics and returns the p50 and p99 to Running.
func report(b *testing.B, kind string, st []startup) (time.Duration, time.Duration) {
	var scheduled, running, onNode []time.Duration
	for _, s := range st {
		scheduled, running = append(scheduled, s.scheduled), append(running, s.running)
		onNode = append(onNode, s.running-s.scheduled)
	}
	b.ReportMetric(percentile(scheduled, 50).Seconds(), kind+"-scheduled-p50-s")
	b.ReportMetric(percentile(onNode, 50).Seconds(), kind+"-node-p50-s")
	p50, p99 := percentile(running, 50), percentile(running, 99)
	b.ReportMetric(p50.Seconds(), kind+"-p50-s")
	b.ReportMetric(p99.Seconds(), kind+"-p99-s")
	return p50, p99
}

// percentile is the p-th percentile (nearest rank) of ds.
func percentile(ds []time.Duration, p int) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	i := (len(s)*p + 99) / 100
	return s[max(i-1, 0)]
}

// benchCluster is cluster() for benchmarks.
func benchCluster(b *testing.B) *env {
	b.Helper()
	repo := prerequisites(b)
	sharedOnce.Do(func() { shared, sharedErr = start(b.Context(), repo) })
	if sharedErr != nil {
		b.Fatal(sharedErr)
	}
	return shared
}

func (e *env) benchNamespace(b *testing.B, name string) string {
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}
	e.createB(b, ns)
	return name
}

// deleteNamespace deletes ns and waits for it (its volumes included) to go.
func (e *env) deleteNamespace(b *testing.B, name string) {
	ctx := context.WithoutCancel(b.Context())
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}
	if err := e.client.Delete(ctx, ns, client.PropagationPolicy(metav1.DeletePropagationForeground), &client.DeleteOptions{GracePeriodSeconds: ptr.To[int64](0)}); err != nil {
		b.Fatal(err)
	}
	e.poll(b, "namespace "+name+" deleted", func(ctx context.Context) (bool, error) {
		err := e.client.Get(ctx, client.ObjectKeyFromObject(ns), &corev1.Namespace{})
		return client.IgnoreNotFound(err) == nil && err != nil, nil
	})
}

func (e *env) createB(b *testing.B, objs ...client.Object) {
	b.Helper()
	for _, obj := range objs {
		if err := e.client.Create(b.Context(), obj); err != nil {
			b.Fatalf("failed to create %T %s: %v", obj, obj.GetName(), err)
		}
	}
}
