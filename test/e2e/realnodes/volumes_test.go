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
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// TestZoneRestrictedClassPlacesPodAndVolumeInTheZone: claims of
// WaitForFirstConsumer classes limited to one zone each bring their
// unpinned pods, and their volumes, to that zone's node.
func TestZoneRestrictedClassPlacesPodAndVolumeInTheZone(t *testing.T) {
	e := cluster(t)
	ns := e.namespace(t, "vol-zones")
	zones := []string{"zone-b", "zone-a"}
	for _, zone := range zones {
		class := "vol-" + zone
		e.storageClass(t, class, func(sc *storagev1.StorageClass) {
			sc.AllowedTopologies = []corev1.TopologySelectorTerm{{MatchLabelExpressions: []corev1.TopologySelectorLabelRequirement{
				{Key: zoneLabel, Values: []string{zone}},
			}}}
		})
		e.create(t, claim(ns, zone, class, "64Mi"), testPod(ns, zone, "", withClaim(zone)))
	}
	for _, zone := range zones {
		want := zoneNode(zone)
		p := e.running(t, ns, zone)
		pv := e.bound(t, ns, zone)
		if p.Spec.NodeName != want {
			t.Errorf("the pod of a %s claim runs on %s, want %s", zone, p.Spec.NodeName, want)
		}
		if got := volumeNode(pv); got != want {
			t.Errorf("the volume of a %s claim has node affinity %q, want %s", zone, got, want)
		}
		if !e.inPool(t, want, volumeID(t, pv)) {
			t.Errorf("the volume of a %s claim is not in %s's pool", zone, want)
		}
		if got := e.exec(t, ns, zone, "echo "+zone+" > /data/zone && cat /data/zone"); got != zone {
			t.Errorf("the %s volume reads back %q", zone, got)
		}
	}
	for _, zone := range zones {
		e.deleteAndWait(t, &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: zone}})
	}
	e.deleteClaims(t, ns, zones...)
}

// TestOnlineExpansionGrowsTheFilesystemInTheRunningPod: growing the claim
// of a running pod grows the filesystem the pod sees. XFS grows mounted;
// ext4 grows mounted only where root has CAP_SYS_RESOURCE, and elsewhere
// keeps its size, and its data, until the volume is staged again.
func TestOnlineExpansionGrowsTheFilesystemInTheRunningPod(t *testing.T) {
	e := cluster(t)
	ns := e.namespace(t, "vol-expansion")
	e.storageClass(t, "vol-xfs", func(sc *storagev1.StorageClass) { sc.Parameters["csi.storage.k8s.io/fstype"] = "xfs" })
	t.Run("xfs", func(t *testing.T) {
		pod := e.startWriter(t, ns, "xfs", "vol-xfs", "512Mi")
		e.resize(t, ns, "xfs", "1Gi")
		e.grown(t, ns, pod, "xfs", "512Mi", "1Gi")
		e.deleteAndWait(t, pod)
		e.deleteClaims(t, ns, "xfs")
	})
	t.Run("ext4", func(t *testing.T) {
		online, err := hasCapSysResource()
		if err != nil {
			t.Fatal(err)
		}
		pod := e.startWriter(t, ns, "ext4", "plinth", "256Mi")
		e.resize(t, ns, "ext4", "512Mi")
		if !online {
			t.Log("root lacks CAP_SYS_RESOURCE here: the mounted ext4 filesystem must keep its size until restaged")
			pod = e.grownAtRestage(t, ns, pod, "ext4", "256Mi")
		}
		e.grown(t, ns, pod, "ext4", "256Mi", "512Mi")
		e.deleteAndWait(t, pod)
		e.deleteClaims(t, ns, "ext4")
	})
}

// startWriter creates a claim of class and a pod that filled it with
// writeData.
func (e *env) startWriter(t *testing.T, ns, name, class, size string) *corev1.Pod {
	t.Helper()
	pod := testPod(ns, name, "", withClaim(name))
	e.create(t, claim(ns, name, class, size), pod)
	e.running(t, ns, name)
	e.exec(t, ns, name, writeData)
	if got, err := e.dfBytes(t.Context(), ns, name, "/data"); err != nil || got > bytesOf(size) {
		t.Fatalf("a fresh %s volume has a filesystem of %d bytes (%v)", size, got, err)
	}
	return pod
}

// grown waits until the pod's filesystem outgrows the claim's old size and
// the claim's status shows the new one, then checks the data.
func (e *env) grown(t *testing.T, ns string, pod *corev1.Pod, claimName, from, to string) {
	t.Helper()
	e.poll(t, "the filesystem in "+pod.Name+" beyond "+from, func(ctx context.Context) (bool, error) {
		size, err := e.dfBytes(ctx, ns, pod.Name, "/data")
		return err == nil && size > bytesOf(from) && size <= bytesOf(to), err
	})
	e.poll(t, "claim "+claimName+" at "+to, func(ctx context.Context) (bool, error) {
		pvc, capacity, err := e.claimCapacity(ctx, ns, claimName)
		return err == nil && capacity == bytesOf(to) && len(pvc.Status.AllocatedResourceStatuses) == 0 && len(pvc.Status.Conditions) == 0, err
	})
	e.checkData(t, ns, pod.Name)
}

// grownAtRestage checks that a mounted ext4 filesystem that cannot grow
// online keeps its size and keeps working, with the reason on the claim;
// then it replaces the pod, once the volume is unstaged, by one that
// stages it again, which grows it.
func (e *env) grownAtRestage(t *testing.T, ns string, pod *corev1.Pod, claimName, from string) *corev1.Pod {
	t.Helper()
	e.poll(t, "the node's resize error on claim "+claimName, func(ctx context.Context) (bool, error) {
		pvc := &corev1.PersistentVolumeClaim{}
		err := e.client.Get(ctx, client.ObjectKey{Namespace: ns, Name: claimName}, pvc)
		return err == nil && slices.ContainsFunc(pvc.Status.Conditions, func(c corev1.PersistentVolumeClaimCondition) bool {
			return c.Type == corev1.PersistentVolumeClaimNodeResizeError && strings.Contains(c.Message, "CAP_SYS_RESOURCE")
		}), err
	})
	if size, err := e.dfBytes(t.Context(), ns, pod.Name, "/data"); err != nil || size > bytesOf(from) {
		t.Errorf("the filesystem that cannot grow online has %d bytes (%v), more than %s", size, err, from)
	}
	if _, capacity, err := e.claimCapacity(t.Context(), ns, claimName); err != nil || capacity != bytesOf(from) {
		t.Errorf("the claim's status shows %d bytes (%v) before its filesystem grew, want %s", capacity, err, from)
	}
	e.exec(t, ns, pod.Name, "echo still-writable > /data/note && sync")
	e.checkData(t, ns, pod.Name)
	pv := e.bound(t, ns, claimName)
	e.deleteAndWait(t, pod)
	e.unstaged(t, volumeID(t, pv))
	again := testPod(ns, pod.Name+"-again", "", withClaim(claimName))
	e.create(t, again)
	e.running(t, ns, again.Name)
	if got := e.exec(t, ns, again.Name, "cat /data/note"); got != "still-writable" {
		t.Errorf("a file written while the growth was pending reads %q", got)
	}
	return again
}

// checkData checks that /data/blob still has the checksum writeData saved.
func (e *env) checkData(t *testing.T, ns, pod string) {
	t.Helper()
	out := strings.Fields(e.exec(t, ns, pod, "cat /data/sum && sha256sum /data/blob"))
	if len(out) < 2 || out[0] != out[1] {
		t.Errorf("the blob in %s no longer matches its checksum: %q", pod, out)
	}
}

// TestRawBlockClaimIsADeviceInThePod: a Block claim is a block device of
// the claim's size in the pod; a pattern written at its end is read back
// by the next pod, whose device grows when the claim does.
func TestRawBlockClaimIsADeviceInThePod(t *testing.T) {
	e := cluster(t)
	ns := e.namespace(t, "vol-block")
	raw := claim(ns, "raw", "plinth", "64Mi")
	raw.Spec.VolumeMode = ptr.To(corev1.PersistentVolumeBlock)
	writer := testPod(ns, "writer", "", withDevice("raw"))
	e.create(t, raw, writer)
	e.running(t, ns, "writer")
	pv := e.bound(t, ns, "raw")

	if got := e.exec(t, ns, "writer", "[ -b /dev/xvda ] && blockdev --getsize64 /dev/xvda"); got != fmt.Sprint(bytesOf("64Mi")) {
		t.Errorf("the device has %s bytes, want %d", got, bytesOf("64Mi"))
	}
	// The last 4 MiB: a write past a smaller device's end would fail.
	const pattern = "dd if=/dev/urandom of=/tmp/pattern bs=1M count=4 2>/dev/null && " +
		"dd if=/tmp/pattern of=/dev/xvda bs=1M seek=60 conv=fsync 2>/dev/null && sha256sum /tmp/pattern | cut -d' ' -f1"
	sum := e.exec(t, ns, "writer", pattern)
	const readBack = "dd if=/dev/xvda bs=1M skip=60 count=4 2>/dev/null | sha256sum | cut -d' ' -f1"
	if got := e.exec(t, ns, "writer", readBack); got != sum {
		t.Errorf("the writer reads back %s, wrote %s", got, sum)
	}
	e.deleteAndWait(t, writer)

	e.create(t, testPod(ns, "reader", "", withDevice("raw")))
	if p := e.running(t, ns, "reader"); p.Spec.NodeName != volumeNode(pv) {
		t.Errorf("the reader runs on %s, the volume is on %s", p.Spec.NodeName, volumeNode(pv))
	}
	if got := e.exec(t, ns, "reader", readBack); got != sum {
		t.Errorf("the next pod reads back %s, the writer wrote %s", got, sum)
	}
	// A block volume grows in the running pod without a filesystem step.
	e.resize(t, ns, "raw", "128Mi")
	e.poll(t, "the device in the reader at 128Mi", func(ctx context.Context) (bool, error) {
		out, err := e.kubectlOut(ctx, "exec", "-n", ns, "reader", "--", "blockdev", "--getsize64", "/dev/xvda")
		return err == nil && strings.TrimSpace(out) == fmt.Sprint(bytesOf("128Mi")), err
	})
	e.poll(t, "claim raw at 128Mi", func(ctx context.Context) (bool, error) {
		_, capacity, err := e.claimCapacity(ctx, ns, "raw")
		return err == nil && capacity == bytesOf("128Mi"), err
	})
	if got := e.exec(t, ns, "reader", readBack); got != sum {
		t.Errorf("after growing, the device reads back %s, the writer wrote %s", got, sum)
	}
	e.deleteAndWait(t, &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "reader"}})
	e.deleteClaims(t, ns, "raw")
}

// withDevice gives the pod a Block claim as /dev/xvda.
func withDevice(claim string) podOption {
	return func(p *corev1.Pod) {
		p.Spec.Volumes = append(p.Spec.Volumes, corev1.Volume{Name: "raw", VolumeSource: corev1.VolumeSource{
			PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: claim},
		}})
		p.Spec.Containers[0].VolumeDevices = append(p.Spec.Containers[0].VolumeDevices, corev1.VolumeDevice{Name: "raw", DevicePath: "/dev/xvda"})
	}
}

// TestInlineEphemeralVolumeLivesWithItsPod: a CSI inline volume is a fresh
// filesystem of the requested type and size in its node's pool while its pod
// runs; when the pod goes, its file, loop device and mounts go too.
func TestInlineEphemeralVolumeLivesWithItsPod(t *testing.T) {
	e := cluster(t)
	ns := e.namespace(t, "vol-inline")
	for _, fs := range []struct{ fsType, size string }{{"ext4", "64Mi"}, {"xfs", "320Mi"}} {
		t.Run(fs.fsType, func(t *testing.T) { e.inlineLifecycle(t, ns, fs.fsType, fs.size) })
	}
}

func (e *env) inlineLifecycle(t *testing.T, ns, fsType, size string) {
	name := "scratch-" + fsType
	e.create(t, testPod(ns, name, "", withInline("scratch", size, fsType)))
	p := e.running(t, ns, name)
	id, node := inlineVolumeID(p.UID, "scratch"), p.Spec.NodeName

	e.exec(t, ns, name, writeData)
	e.checkData(t, ns, name)
	if got := strings.Fields(e.exec(t, ns, name, "grep ' /data ' /proc/mounts")); len(got) < 3 || got[2] != fsType {
		t.Errorf("the inline volume is mounted as %q, want %s", got, fsType)
	}
	if got, err := e.dfBytes(t.Context(), ns, name, "/data"); err != nil || got > bytesOf(size) || got < bytesOf(size)*3/4 {
		t.Errorf("the inline volume has a filesystem of %d bytes (%v), want about %s", got, err, size)
	}
	if !e.inPool(t, node, id) {
		t.Fatalf("the inline volume %s is not in %s's pool", id, node)
	}
	if devices, err := loopDevices(id); err != nil || len(devices) != 1 {
		t.Errorf("the inline volume is backed by loop devices %v (%v), want one", devices, err)
	}
	csiMounts := string(p.UID) + "/volumes/kubernetes.io~csi/"
	if mounts, err := e.nodeMounts(t.Context(), node); err != nil || !strings.Contains(mounts, csiMounts+"scratch/mount") {
		t.Fatalf("the node has no mount at %sscratch/mount (%v)", csiMounts, err)
	}

	e.deleteAndWait(t, p)
	e.volumeReleased(t, node, id)
	e.noMountsOf(t, node, csiMounts)
}

// withInline mounts a CSI inline volume of the driver at /data.
func withInline(name, size, fsType string) podOption {
	return func(p *corev1.Pod) {
		p.Spec.Volumes = append(p.Spec.Volumes, corev1.Volume{Name: name, VolumeSource: corev1.VolumeSource{
			CSI: &corev1.CSIVolumeSource{Driver: driverName, VolumeAttributes: map[string]string{"size": size, "fsType": fsType}},
		}})
		p.Spec.Containers[0].VolumeMounts = append(p.Spec.Containers[0].VolumeMounts, corev1.VolumeMount{Name: name, MountPath: "/data"})
	}
}

// TestReadOnlyMountRefusesWrites: a pod that mounts a claim read-only, by
// its volume mount or by its claim source, reads what another pod wrote
// but cannot write.
func TestReadOnlyMountRefusesWrites(t *testing.T) {
	e := cluster(t)
	ns := e.namespace(t, "vol-readonly")
	writer := testPod(ns, "writer", "", withClaim("data"))
	e.create(t, claim(ns, "data", "plinth", "64Mi"), writer)
	e.running(t, ns, "writer")
	sum := e.exec(t, ns, "writer", writeData+" && cat /data/sum")
	e.deleteAndWait(t, writer)

	cases := []struct {
		name     string
		readOnly podOption
		// published: the driver publishes the volume read-only too, when
		// the claim source says so; a read-only volume mount is the
		// container's alone.
		published string
	}{
		{"ro-mount", func(p *corev1.Pod) { p.Spec.Containers[0].VolumeMounts[0].ReadOnly = true }, "rw"},
		{"ro-claim", func(p *corev1.Pod) { p.Spec.Volumes[0].PersistentVolumeClaim.ReadOnly = true }, "ro"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			reader := testPod(ns, c.name, "", withClaim("data"), c.readOnly)
			e.create(t, reader)
			p := e.running(t, ns, c.name)
			if got := e.exec(t, ns, c.name, "sha256sum /data/blob | cut -d' ' -f1"); got != sum {
				t.Errorf("reads checksum %s, the writer wrote %s", got, sum)
			}
			e.refusesWrites(t, ns, c.name)
			if got := e.publishMode(t, p); got != c.published {
				t.Errorf("the driver published the volume %s, want %s", got, c.published)
			}
			e.deleteAndWait(t, reader)
		})
	}
	e.deleteClaims(t, ns, "data")
}

// publishMode is "ro" or "rw", as the node mounted the pod's CSI volume.
func (e *env) publishMode(t *testing.T, p *corev1.Pod) string {
	t.Helper()
	mounts, err := e.nodeMounts(t.Context(), p.Spec.NodeName)
	if err != nil {
		t.Fatal(err)
	}
	target := "/" + string(p.UID) + "/volumes/kubernetes.io~csi/"
	for line := range strings.Lines(mounts) {
		// ID parent major:minor root mountpoint options ...
		if f := strings.Fields(line); len(f) > 5 && strings.Contains(f[4], target) {
			return strings.Split(f[5], ",")[0]
		}
	}
	t.Fatalf("no CSI volume of pod %s is mounted on %s", p.Name, p.Spec.NodeName)
	return ""
}

// refusesWrites checks that creating and appending to files in /data fail
// because the filesystem is read-only.
func (e *env) refusesWrites(t *testing.T, ns, pod string) {
	t.Helper()
	for _, write := range []string{"touch /data/new", "echo more >> /data/blob"} {
		out, err := e.kubectlOut(t.Context(), "exec", "-n", ns, pod, "--", "sh", "-c", write)
		if err == nil {
			t.Errorf("%q succeeded on a read-only mount", write)
		} else if !strings.Contains(out, "Read-only file system") {
			t.Errorf("%q failed for another reason than a read-only filesystem: %v", write, err)
		}
	}
	if out := e.exec(t, ns, pod, "grep ' /data ' /proc/mounts"); !slices.Contains(strings.Split(strings.Fields(out)[3], ","), "ro") {
		t.Errorf("/data is not mounted read-only: %s", out)
	}
}

// TestFSGroupIsAppliedToTheVolume: with the CSIDriver's fsGroupPolicy File,
// a pod's fsGroup owns the volume's files, those another pod wrote as root
// included, and its non-root user can write to them.
func TestFSGroupIsAppliedToTheVolume(t *testing.T) {
	e := cluster(t)
	ns := e.namespace(t, "vol-fsgroup")
	writer := testPod(ns, "writer", "", withClaim("data"))
	e.create(t, claim(ns, "data", "plinth", "64Mi"), writer)
	e.running(t, ns, "writer")
	e.exec(t, ns, "writer", "mkdir -m 0755 /data/dir && echo root > /data/dir/old && chmod 0644 /data/dir/old")
	e.deleteAndWait(t, writer)

	app := testPod(ns, "app", "", withClaim("data"), func(p *corev1.Pod) {
		p.Spec.SecurityContext = &corev1.PodSecurityContext{RunAsUser: ptr.To[int64](1000), RunAsGroup: ptr.To[int64](1000), FSGroup: ptr.To[int64](2000)}
	})
	e.create(t, app)
	e.running(t, ns, "app")
	if got := e.exec(t, ns, "app", "id -u; id -G"); !slices.Contains(strings.Fields(got), "2000") || !strings.HasPrefix(got, "1000\n") {
		t.Errorf("the pod's user and groups are %q, want user 1000 in group 2000", got)
	}
	want := map[string]string{"/data": "2000 drwxrwsr-x", "/data/dir": "2000 drwxrwsr-x", "/data/dir/old": "2000 -rw-rw-r--"}
	for path, owner := range want {
		if got := e.exec(t, ns, "app", "stat -c '%g %A' "+path); got != owner {
			t.Errorf("%s has group and mode %q, want %q", path, got, owner)
		}
	}
	got := e.exec(t, ns, "app", "echo app >> /data/dir/old && touch /data/new && stat -c '%u %g' /data/new && cat /data/dir/old")
	if got != "1000 2000\nroot\napp" {
		t.Errorf("writing as the pod's user gives %q, want a file of 1000:2000 and the old file appended", got)
	}
	e.deleteAndWait(t, app)
	e.deleteClaims(t, ns, "data")
}

// TestStatefulSetReplicasKeepTheirData: each replica of a StatefulSet
// keeps its own volume through scaling down and up; a new replica gets a
// fresh one.
func TestStatefulSetReplicasKeepTheirData(t *testing.T) {
	e := cluster(t)
	ns := e.namespace(t, "vol-statefulset")
	sts := statefulSet(ns, "web", 2)
	e.create(t, sts)
	first := e.replicaStates(t, ns, "web-0", "web-1")

	e.scale(t, sts, 1)
	e.gone(t, &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "web-1"}})
	e.bound(t, ns, "data-web-1")
	e.scale(t, sts, 3)
	again := e.replicaStates(t, ns, "web-0", "web-1", "web-2")

	for _, name := range []string{"web-0", "web-1"} {
		if again[name].data != first[name].data || again[name].volume != first[name].volume {
			t.Errorf("%s came back with %+v, had %+v", name, again[name], first[name])
		}
	}
	if boots := []int{again["web-0"].boots, again["web-1"].boots, again["web-2"].boots}; !slices.Equal(boots, []int{1, 2, 1}) {
		t.Errorf("the replicas started %v times on their volumes, want [1 2 1]", boots)
	}
	if fresh := again["web-2"]; fresh.volume == first["web-0"].volume || fresh.volume == first["web-1"].volume {
		t.Errorf("web-2 got an existing volume %s", fresh.volume)
	}

	e.scale(t, sts, 0)
	for _, name := range []string{"web-0", "web-1", "web-2"} {
		e.gone(t, &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}})
	}
	e.deleteAndWait(t, sts)
	e.deleteClaims(t, ns, "data-web-0", "data-web-1", "data-web-2")
}

// replicaScript records each start in /data/boots and, on a fresh volume
// only, its owner and a blob with its checksum; the pod is ready after.
const replicaScript = `hostname >> /data/boots
[ -f /data/owner ] || { ` + writeData + ` && hostname > /data/owner; }
touch /tmp/ready`

// statefulSet runs replicas of testPod with a 64Mi claim "data" each.
func statefulSet(ns, name string, replicas int32) *appsv1.StatefulSet {
	template := testPod(ns, name, replicaScript)
	template.Spec.Containers[0].VolumeMounts = []corev1.VolumeMount{{Name: "data", MountPath: "/data"}}
	template.Spec.Containers[0].ReadinessProbe = &corev1.Probe{
		ProbeHandler:  corev1.ProbeHandler{Exec: &corev1.ExecAction{Command: []string{"cat", "/tmp/ready"}}},
		PeriodSeconds: 1,
	}
	data := claim("", "data", "plinth", "64Mi")
	return &appsv1.StatefulSet{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec: appsv1.StatefulSetSpec{
			Replicas:             ptr.To(replicas),
			Selector:             &metav1.LabelSelector{MatchLabels: template.Labels},
			ServiceName:          name,
			PodManagementPolicy:  appsv1.ParallelPodManagement,
			Template:             corev1.PodTemplateSpec{ObjectMeta: template.ObjectMeta, Spec: template.Spec},
			VolumeClaimTemplates: []corev1.PersistentVolumeClaim{*data},
		},
	}
}

// replicaState is what one replica finds on its volume.
type replicaState struct {
	// data is the owner and the blob's checksum, checked against the one
	// saved when it was written.
	data   string
	boots  int
	volume string
}

// replicaStates waits until the replicas are ready and reads their state.
func (e *env) replicaStates(t *testing.T, ns string, pods ...string) map[string]replicaState {
	t.Helper()
	states := map[string]replicaState{}
	for _, name := range pods {
		e.running(t, ns, name)
		e.checkData(t, ns, name)
		out := strings.Fields(e.exec(t, ns, name, "cat /data/owner /data/sum; wc -l < /data/boots"))
		if len(out) != 3 || out[0] != name {
			t.Fatalf("%s finds %q on its volume, want its own name, checksum and boot count", name, out)
		}
		var boots int
		if _, err := fmt.Sscan(out[2], &boots); err != nil {
			t.Fatal(err)
		}
		states[name] = replicaState{data: out[0] + " " + out[1], boots: boots, volume: e.bound(t, ns, "data-"+name).Name}
	}
	return states
}

// scale sets a StatefulSet's replicas.
func (e *env) scale(t *testing.T, sts *appsv1.StatefulSet, replicas int32) {
	t.Helper()
	base := sts.DeepCopy()
	sts.Spec.Replicas = ptr.To(replicas)
	if err := e.client.Patch(t.Context(), sts, client.MergeFrom(base)); err != nil {
		t.Fatalf("failed to scale %s to %d: %v", sts.Name, replicas, err)
	}
}
