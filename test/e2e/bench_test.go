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

package e2e

import (
	"context"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"

	snapshotv1 "github.com/kubernetes-csi/external-snapshotter/client/v8/apis/volumesnapshot/v1"
	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/plinth-dev/plinth/test/controlplane"
	"github.com/plinth-dev/plinth/test/storagenode"
)

// The storage benchmarks compare, in one run and on the same harness, the
// controller layers a user could put over local storage:
//
//	plinth           Plinth's node controllers (in each plinth-node) and
//	                 plinth-controller, over Plinth's CSI driver
//	upstream         the upstream sidecars (sidecars_test.go) over the same
//	                 driver, with Plinth's controllers switched off
//	static           no provisioner: pre-created local PVs of a
//	                 WaitForFirstConsumer class, bound by kube-scheduler and
//	                 kube-controller-manager alone
//	static-prebound  PVs pre-bound to existing claims appear at once: the
//	                 PV controller alone (the binding ceiling)
//
// each at two settings of kube-controller-manager and kube-scheduler
// (allSettings). Sub-benchmarks are named SETTING/STACK; the environment
// variables PLINTH_BENCH_SETTINGS and PLINTH_BENCH_STACKS (comma-separated
// names) narrow a run down as -bench does.
const (
	stackPlinth   = "plinth"
	stackUpstream = "upstream"
	stackStatic   = "static"
	stackPreBound = "static-prebound"
)

// burst is the number of claims (with a pod each) or snapshots of the
// provisioning and snapshot bursts; smallBurst that of the restore, clone
// and fresh-claim bursts.
const (
	burst      = 200
	smallBurst = 50
)

// setting is a configuration of kube-controller-manager and kube-scheduler.
type setting struct {
	name              string
	controllerManager controlplane.ClientLimits
	scheduler         controlplane.ClientLimits
}

// allSettings: the components' own defaults, as kubeadm runs them, and a
// setting tuned for bursts.
var allSettings = []setting{
	{name: "defaults"},
	{name: "tuned", controllerManager: controlplane.TunedClientLimits, scheduler: controlplane.TunedClientLimits},
}

// selected returns the names of all that the comma-separated environment
// variable env lists; all when it is empty.
func selected(env string, all []string) []string {
	value := os.Getenv(env)
	if value == "" {
		return all
	}
	return slices.DeleteFunc(slices.Clone(all), func(name string) bool {
		return !slices.Contains(strings.Split(value, ","), name)
	})
}

// forEachStack runs body as sub-benchmark SETTING/STACK for every selected
// setting and stack, each on a cluster of its own.
func forEachStack(b *testing.B, stacks []string, body func(b *testing.B, sc *storageCluster, stack string)) {
	names := make([]string, len(allSettings))
	for i, s := range allSettings {
		names[i] = s.name
	}
	for _, s := range allSettings {
		if !slices.Contains(selected("PLINTH_BENCH_SETTINGS", names), s.name) {
			continue
		}
		b.Run(s.name, func(b *testing.B) {
			for _, stack := range selected("PLINTH_BENCH_STACKS", stacks) {
				b.Run(stack, func(b *testing.B) {
					body(b, startBench(b, s, stack), stack)
				})
			}
		})
	}
}

// startBench starts three nodes for a stack: with Plinth's CSI driver on
// pools large enough for every burst (volumes are sparse files: creating
// them writes nothing), and Plinth's controllers or the upstream sidecars
// over it; static stacks need no driver.
func startBench(b *testing.B, s setting, stack string) *storageCluster {
	b.Helper()
	pools := map[string]int64{"node-1": 64 * gib, "node-2": 64 * gib, "node-3": 64 * gib}
	if stack == stackStatic || stack == stackPreBound {
		pools = map[string]int64{}
	}
	// 16 workers: plinth-node's default (--workers, the chart's
	// storage.workers).
	opts := storagenode.Options{Workers: 16, DriverOnly: stack == stackUpstream}
	sc := startStorageClusterSized(b, pools, opts, func(o *controlplane.Options) {
		o.ControllerManagerAPI, o.SchedulerAPI = s.controllerManager, s.scheduler
	})
	b.Logf("setting %s: kube-controller-manager %s, kube-scheduler %s (defaults: %s and %s)", s.name,
		s.controllerManager, s.scheduler, controlplane.DefaultControllerManagerLimits, controlplane.DefaultSchedulerLimits)
	switch stack {
	case stackPlinth:
		sc.startPlinthController(b)
	case stackUpstream:
		sc.startSidecars(b)
	}
	return sc
}

// BenchmarkProvisionBurst creates 200 WaitForFirstConsumer claims with a pod
// each at once and measures, per claim, the time from its creation until it
// has a PV and until it is Bound; the static stacks measure the same burst
// against pre-created PVs, and the binding of pre-bound PVs alone.
func BenchmarkProvisionBurst(b *testing.B) {
	forEachStack(b, []string{stackPlinth, stackUpstream, stackStatic, stackPreBound}, func(b *testing.B, sc *storageCluster, stack string) {
		switch stack {
		case stackStatic:
			sc.staticBurst(b)
		case stackPreBound:
			sc.preBoundBurst(b)
		default:
			sc.provisionBurst(b)
		}
	})
}

func (sc *storageCluster) provisionBurst(b *testing.B) {
	class := sc.createClass(b, "bench", storagev1.VolumeBindingWaitForFirstConsumer, nil)
	sc.waitForCapacities(b, class)
	for i := 0; b.Loop(); i++ {
		ns := sc.namespace(b, fmt.Sprintf("burst-%d", i))
		sc.runBurst(b, ns, burstSpec{n: burst, objects: func(j int) []client.Object {
			name := fmt.Sprintf("data-%03d", j)
			return []client.Object{claim(ns, name, class, "64Mi"), pod(ns, name, name)}
		}, stages: []stage{{"pv", claimHasPV, "pvs/s"}, {"bound", claimBound, "pvcs/s"}}})
	}
}

// staticBurst pre-creates 200 local PVs of a no-provisioner
// WaitForFirstConsumer class, spread over the three nodes, waits until they
// are Available, and then runs the provisioning burst against them.
func (sc *storageCluster) staticBurst(b *testing.B) {
	const class = "static-local"
	sc.create(b, &storagev1.StorageClass{
		ObjectMeta: metav1.ObjectMeta{Name: class}, Provisioner: "kubernetes.io/no-provisioner",
		VolumeBindingMode: ptr.To(storagev1.VolumeBindingWaitForFirstConsumer),
	})
	for i := 0; b.Loop(); i++ {
		ns := sc.namespace(b, fmt.Sprintf("static-%d", i))
		b.StopTimer()
		for j := range burst {
			sc.create(b, localPV(fmt.Sprintf("%s-%03d", ns, j), class, fmt.Sprintf("node-%d", j%3+1)))
		}
		poll(b, "static PVs available", func(ctx context.Context) (bool, error) {
			pvs := &corev1.PersistentVolumeList{}
			if err := sc.cp.Client.List(ctx, pvs); err != nil {
				return false, err
			}
			n := 0
			for _, pv := range pvs.Items {
				if pv.Spec.StorageClassName == class && pv.Status.Phase == corev1.VolumeAvailable {
					n++
				}
			}
			return n >= burst, nil
		})
		b.StartTimer()
		sc.runBurst(b, ns, burstSpec{n: burst, objects: func(j int) []client.Object {
			name := fmt.Sprintf("data-%03d", j)
			return []client.Object{claim(ns, name, class, "64Mi"), pod(ns, name, name)}
		}, stages: []stage{{"bound", claimBound, "pvcs/s"}}})
	}
}

// localPV is a pre-created local PV on node, as an administrator (or a
// static local volume provisioner) creates it.
func localPV(name, class, node string) *corev1.PersistentVolume {
	return &corev1.PersistentVolume{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: corev1.PersistentVolumeSpec{
			Capacity:                      corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("64Mi")},
			AccessModes:                   []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
			StorageClassName:              class,
			PersistentVolumeReclaimPolicy: corev1.PersistentVolumeReclaimRetain,
			PersistentVolumeSource:        corev1.PersistentVolumeSource{Local: &corev1.LocalVolumeSource{Path: "/mnt/disks/" + name}},
			NodeAffinity: &corev1.VolumeNodeAffinity{Required: &corev1.NodeSelector{NodeSelectorTerms: []corev1.NodeSelectorTerm{{
				MatchExpressions: []corev1.NodeSelectorRequirement{{Key: corev1.LabelHostname, Operator: corev1.NodeSelectorOpIn, Values: []string{node}}},
			}}}},
		},
	}
}

// preBoundBurst measures kube-controller-manager's PV controller alone, the
// stage that follows a provisioner's: 200 claims exist, then 200 PVs
// pre-bound to them (as a provisioner creates them) appear at once, and
// each claim is timed from its PV's creation to Bound. No provisioner and no
// scheduler take part, so this is the ceiling of the claims/s any
// provisioner reaches on this machine at the setting.
func (sc *storageCluster) preBoundBurst(b *testing.B) {
	const class = "static-bench"
	sc.create(b, &storagev1.StorageClass{ObjectMeta: metav1.ObjectMeta{Name: class}, Provisioner: "kubernetes.io/no-provisioner"})
	for i := 0; b.Loop(); i++ {
		ns := sc.namespace(b, fmt.Sprintf("binding-%d", i))
		claims := make([]*corev1.PersistentVolumeClaim, burst)
		for j := range burst {
			claims[j] = claim(ns, fmt.Sprintf("%s-%03d", ns, j), class, "64Mi")
			sc.create(b, claims[j])
		}
		sc.runBurst(b, ns, burstSpec{n: burst, objects: func(j int) []client.Object {
			return []client.Object{preBoundPV(claims[j])}
		}, stages: []stage{{"bound", claimBound, "pvcs/s"}}})
	}
}

// preBoundPV is a PV pre-bound to c, as a provisioner creates it.
func preBoundPV(c *corev1.PersistentVolumeClaim) *corev1.PersistentVolume {
	return &corev1.PersistentVolume{
		ObjectMeta: metav1.ObjectMeta{Name: c.Name},
		Spec: corev1.PersistentVolumeSpec{
			Capacity:                      c.Spec.Resources.Requests,
			AccessModes:                   c.Spec.AccessModes,
			StorageClassName:              *c.Spec.StorageClassName,
			PersistentVolumeReclaimPolicy: corev1.PersistentVolumeReclaimRetain,
			ClaimRef:                      &corev1.ObjectReference{Kind: "PersistentVolumeClaim", Namespace: c.Namespace, Name: c.Name, UID: c.UID},
			PersistentVolumeSource:        corev1.PersistentVolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: "/tmp/" + c.Name}},
		},
	}
}

// BenchmarkSnapshotBurst takes 200 snapshots of 20 bound claims at once and
// measures, per snapshot, the time from its creation until it is ready to
// use. One snapshot is taken and awaited first, untimed, so that every
// controller has its caches synced.
func BenchmarkSnapshotBurst(b *testing.B) {
	forEachStack(b, []string{stackPlinth, stackUpstream}, func(b *testing.B, sc *storageCluster, _ string) {
		class := sc.createClass(b, "bench", storagev1.VolumeBindingWaitForFirstConsumer, nil)
		sc.waitForCapacities(b, class)
		sc.create(b, snapshotClass("bench-snapshots", snapshotv1.VolumeSnapshotContentDelete, true))
		for i := 0; b.Loop(); i++ {
			ns := sc.namespace(b, fmt.Sprintf("snapshots-%d", i))
			const sources = 20
			b.StopTimer()
			sc.boundSources(b, ns, class, sources, "64Mi")
			sc.snapshotOf(b, ns, "warm-up", "src-00", "")
			b.StartTimer()
			sc.runBurst(b, ns, burstSpec{n: burst, objects: func(j int) []client.Object {
				return []client.Object{snapshotOfClaim(ns, fmt.Sprintf("snap-%03d", j), fmt.Sprintf("src-%02d", j%sources))}
			}, stages: []stage{{"ready", snapshotReady, "snapshots/s"}}})
		}
	})
}

// BenchmarkRestoreCloneBurst measures, on 6 bound claims with a ready
// snapshot each, three bursts of 50 claims with a pod each: fresh claims,
// restores of the snapshots and clones of the claims, each claim timed from
// its creation until it is Bound. Every pod is pinned (a nodeSelector) to
// the node of its claim's source (round robin over the sources for the
// fresh claims), as a user of node-local storage pins it: the restore or
// clone can only be cut there.
func BenchmarkRestoreCloneBurst(b *testing.B) {
	forEachStack(b, []string{stackPlinth, stackUpstream}, func(b *testing.B, sc *storageCluster, _ string) {
		class := sc.createClass(b, "bench", storagev1.VolumeBindingWaitForFirstConsumer, nil)
		sc.waitForCapacities(b, class)
		sc.create(b, snapshotClass("bench-snapshots", snapshotv1.VolumeSnapshotContentDelete, true))
		for i := 0; b.Loop(); i++ {
			ns := sc.namespace(b, fmt.Sprintf("restores-%d", i))
			const sources = 6
			b.StopTimer()
			nodes := sc.boundSources(b, ns, class, sources, restoreSize)
			for j := range sources {
				sc.snapshotOf(b, ns, fmt.Sprintf("snap-%02d", j), fmt.Sprintf("src-%02d", j), "")
			}
			b.StartTimer()
			pinned := func(j int, name string, source *corev1.TypedLocalObjectReference) []client.Object {
				c := claim(ns, name, class, restoreSize)
				c.Spec.DataSource = source
				p := pod(ns, name, name)
				p.Spec.NodeSelector = map[string]string{corev1.LabelHostname: nodes[j%sources]}
				return []client.Object{c, p}
			}
			bound := []stage{{"bound", claimBound, "pvcs/s"}}
			sc.runBurst(b, ns, burstSpec{prefix: "fresh-", n: smallBurst, stages: bound, objects: func(j int) []client.Object {
				return pinned(j, fmt.Sprintf("fresh-%02d", j), nil)
			}})
			sc.runBurst(b, ns, burstSpec{prefix: "restore-", n: smallBurst, stages: bound, objects: func(j int) []client.Object {
				return pinned(j, fmt.Sprintf("restore-%02d", j), &corev1.TypedLocalObjectReference{
					APIGroup: ptr.To(snapshotv1.GroupName), Kind: "VolumeSnapshot", Name: fmt.Sprintf("snap-%02d", j%sources),
				})
			}})
			sc.runBurst(b, ns, burstSpec{prefix: "clone-", n: smallBurst, stages: bound, objects: func(j int) []client.Object {
				return pinned(j, fmt.Sprintf("clone-%02d", j), &corev1.TypedLocalObjectReference{
					Kind: "PersistentVolumeClaim", Name: fmt.Sprintf("src-%02d", j%sources),
				})
			}})
		}
	})
}

// restoreSize is the size of the sources, restores and clones of
// BenchmarkRestoreCloneBurst: Plinth's driver makes an XFS volume at least
// 300Mi large (XFS's minimum), so a snapshot of a smaller claim has a
// restore size of 300Mi, and csi-provisioner refuses a smaller restore.
const restoreSize = "300Mi"

// boundSources creates claims src-00... of size with a pod each, waits
// until they are bound and returns the node of each.
func (sc *storageCluster) boundSources(b *testing.B, ns, class string, n int, size string) []string {
	b.Helper()
	for j := range n {
		name := fmt.Sprintf("src-%02d", j)
		sc.create(b, claim(ns, name, class, size), pod(ns, name, name))
	}
	nodes := make([]string, n)
	for j := range n {
		name := fmt.Sprintf("src-%02d", j)
		sc.waitBound(b, ns, name)
		nodes[j] = sc.waitScheduled(b, ns, name)
	}
	return nodes
}

func snapshotOfClaim(ns, name, claimName string) *snapshotv1.VolumeSnapshot {
	return &snapshotv1.VolumeSnapshot{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec:       snapshotv1.VolumeSnapshotSpec{Source: snapshotv1.VolumeSnapshotSource{PersistentVolumeClaimName: ptr.To(claimName)}},
	}
}
