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
	"crypto/sha256"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/plinth-dev/plinth/csi-driver/backend"
	"github.com/plinth-dev/plinth/test/localcluster"
)

const (
	// driverName is the chart's CSI driver.
	driverName = "csi.plinth.dev"
	// poolVolumes is where a node's pool keeps volume files.
	poolVolumes = "/var/lib/plinth/pool/volumes"
	// zoneLabel is the well-known zone label of the nodes.
	zoneLabel = "topology.kubernetes.io/zone"
)

// storageClass creates a WaitForFirstConsumer, expandable class of the
// driver, adjusted by mutate, and deletes it when the test ends.
func (e *env) storageClass(t *testing.T, name string, mutate func(*storagev1.StorageClass)) {
	t.Helper()
	sc := &storagev1.StorageClass{
		ObjectMeta:           metav1.ObjectMeta{Name: name},
		Provisioner:          driverName,
		ReclaimPolicy:        ptr.To(corev1.PersistentVolumeReclaimDelete),
		VolumeBindingMode:    ptr.To(storagev1.VolumeBindingWaitForFirstConsumer),
		AllowVolumeExpansion: ptr.To(true),
		Parameters:           map[string]string{"csi.storage.k8s.io/fstype": "ext4"},
	}
	if mutate != nil {
		mutate(sc)
	}
	e.create(t, sc)
	t.Cleanup(func() { _ = e.client.Delete(context.WithoutCancel(t.Context()), sc) })
}

// zoneNode is the node of a zone in nodeSpecs.
func zoneNode(zone string) string {
	for _, s := range nodeSpecs {
		if s.Zone == zone {
			return s.Name
		}
	}
	return ""
}

// poolFiles lists the files of a node's pool volumes directory, read inside
// the node (node-1's XFS pool is mounted in the node's namespace only).
func (e *env) poolFiles(ctx context.Context, n *localcluster.Node) (map[string]bool, error) {
	out, err := n.Run(ctx, "ls", "-1", poolVolumes)
	if err != nil {
		return nil, fmt.Errorf("failed to list the pool of %s: %w", n.Name(), err)
	}
	files := map[string]bool{}
	for _, f := range strings.Fields(out) {
		files[f] = true
	}
	return files, nil
}

// inPool reports whether the volume's data file is in the node's pool.
func (e *env) inPool(t testing.TB, node string, id backend.VolumeID) bool {
	t.Helper()
	files, err := e.poolFiles(t.Context(), e.node(t, node))
	if err != nil {
		t.Fatal(err)
	}
	return files[string(id)+".img"]
}

// loopDevices lists the machine's loop devices whose backing file is the
// volume's data file. Loop devices are not namespaced: the nodes share the
// machine's.
func loopDevices(id backend.VolumeID) ([]string, error) {
	return loopDevicesOf("/" + string(id) + ".img")
}

// loopDevicesOf lists the machine's loop devices whose backing file's path
// contains needle.
func loopDevicesOf(needle string) ([]string, error) {
	paths, err := filepath.Glob("/sys/block/loop*/loop/backing_file")
	if err != nil {
		return nil, fmt.Errorf("failed to list loop devices: %w", err)
	}
	var devices []string
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if os.IsNotExist(err) {
			continue // detached meanwhile
		}
		if err != nil {
			return nil, fmt.Errorf("failed to read %s: %w", p, err)
		}
		if strings.Contains(string(b), needle) {
			devices = append(devices, filepath.Base(filepath.Dir(filepath.Dir(p))))
		}
	}
	return devices, nil
}

// volumeReleased waits until nothing of a volume is left on its node: no
// loop device backs it and its file is gone from the pool.
func (e *env) volumeReleased(t testing.TB, node string, id backend.VolumeID) {
	t.Helper()
	n := e.node(t, node)
	e.poll(t, "volume "+string(id)+" released on "+node, func(ctx context.Context) (bool, error) {
		devices, err := loopDevices(id)
		if err != nil || len(devices) > 0 {
			return false, fmt.Errorf("loop devices %v back the volume: %w", devices, err)
		}
		files, err := e.poolFiles(ctx, n)
		return err == nil && !files[string(id)+".img"] && !files[string(id)+".json"], err
	})
}

// unstaged waits until the volume is no longer attached on its node: the
// driver detaches its loop device when kubelet unstages it.
func (e *env) unstaged(t testing.TB, id backend.VolumeID) {
	t.Helper()
	e.poll(t, "volume "+string(id)+" detached", func(context.Context) (bool, error) {
		devices, err := loopDevices(id)
		return err == nil && len(devices) == 0, err
	})
}

// deleteClaims deletes bound claims and waits until their PVs and volume
// files are gone.
func (e *env) deleteClaims(t testing.TB, ns string, names ...string) {
	t.Helper()
	pvs := make([]*corev1.PersistentVolume, 0, len(names))
	for _, name := range names {
		pvs = append(pvs, e.bound(t, ns, name))
		e.deleteAndWait(t, &corev1.PersistentVolumeClaim{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}})
	}
	for _, pv := range pvs {
		e.deleteAndWait(t, &corev1.PersistentVolume{ObjectMeta: metav1.ObjectMeta{Name: pv.Name}})
		e.volumeReleased(t, volumeNode(pv), volumeID(t, pv))
		e.noneLeftOf(t, volumeNode(pv), pv.Name)
	}
}

// noneLeftOf waits until no mount on the node and no loop device (such as
// kubelet's for a block volume) has a path naming the PV.
func (e *env) noneLeftOf(t testing.TB, node, pvName string) {
	t.Helper()
	e.noMountsOf(t, node, "/"+pvName+"/")
	e.poll(t, "no loop device of PV "+pvName, func(context.Context) (bool, error) {
		devices, err := loopDevicesOf("/" + pvName + "/")
		if err != nil || len(devices) > 0 {
			return false, fmt.Errorf("loop devices %v remain: %w", devices, err)
		}
		return true, nil
	})
}

// noMountsOf waits until no mount on the node has a path containing needle.
func (e *env) noMountsOf(t testing.TB, node, needle string) {
	t.Helper()
	e.poll(t, "no mounts of "+needle+" on "+node, func(ctx context.Context) (bool, error) {
		mounts, err := e.nodeMounts(ctx, node)
		if err != nil {
			return false, err
		}
		for line := range strings.Lines(mounts) {
			if strings.Contains(line, needle) {
				return false, fmt.Errorf("a mount remains: %s", line)
			}
		}
		return true, nil
	})
}

// volumeID is the driver's ID of a PV's volume.
func volumeID(t testing.TB, pv *corev1.PersistentVolume) backend.VolumeID {
	t.Helper()
	if pv.Spec.CSI == nil {
		t.Fatalf("PV %s is not a CSI volume", pv.Name)
	}
	id, err := backend.ParseVolumeID(pv.Spec.CSI.VolumeHandle)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// inlineVolumeID is the driver's ID of a pod's inline volume: kubelet names
// it "csi-" and the hex SHA-256 of the pod's UID and the volume's name.
func inlineVolumeID(uid types.UID, volume string) backend.VolumeID {
	return backend.NewVolumeID(fmt.Sprintf("csi-%x", sha256.Sum256([]byte(string(uid)+volume))))
}

// gone waits until obj no longer exists, without deleting it.
func (e *env) gone(t testing.TB, obj client.Object) {
	t.Helper()
	e.poll(t, obj.GetName()+" gone", func(ctx context.Context) (bool, error) {
		err := e.client.Get(ctx, client.ObjectKeyFromObject(obj), obj)
		return apierrors.IsNotFound(err), client.IgnoreNotFound(err)
	})
}

// dfBytes is the total size of the filesystem at path as df shows it in
// the pod.
func (e *env) dfBytes(ctx context.Context, ns, pod, path string) (int64, error) {
	out, err := e.kubectlOut(ctx, "exec", "-n", ns, pod, "--", "df", "-Pk", path)
	if err != nil {
		return 0, err
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	fields := strings.Fields(lines[len(lines)-1])
	if len(lines) < 2 || len(fields) < 6 {
		return 0, fmt.Errorf("unexpected df output %q", out)
	}
	kib, err := strconv.ParseInt(fields[1], 10, 64)
	if err != nil {
		return 0, fmt.Errorf("unexpected df output %q: %w", out, err)
	}
	return kib << 10, nil
}

// resize asks for a claim to grow to size.
func (e *env) resize(t testing.TB, ns, name, size string) {
	t.Helper()
	pvc := &corev1.PersistentVolumeClaim{}
	if err := e.client.Get(t.Context(), client.ObjectKey{Namespace: ns, Name: name}, pvc); err != nil {
		t.Fatal(err)
	}
	base := pvc.DeepCopy()
	pvc.Spec.Resources.Requests[corev1.ResourceStorage] = resource.MustParse(size)
	if err := e.client.Patch(t.Context(), pvc, client.MergeFrom(base)); err != nil {
		t.Fatalf("failed to resize claim %s: %v", name, err)
	}
}

// claimCapacity is the size in a claim's status.
func (e *env) claimCapacity(ctx context.Context, ns, name string) (*corev1.PersistentVolumeClaim, int64, error) {
	pvc := &corev1.PersistentVolumeClaim{}
	if err := e.client.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, pvc); err != nil {
		return nil, 0, err
	}
	q := pvc.Status.Capacity[corev1.ResourceStorage]
	return pvc, q.Value(), nil
}

// bytesOf parses a quantity such as 256Mi.
func bytesOf(size string) int64 {
	q := resource.MustParse(size)
	return q.Value()
}

// nodeMounts is the mount table of a node's own mount namespace.
func (e *env) nodeMounts(ctx context.Context, node string) (string, error) {
	n := e.cluster.Node(node)
	if n == nil {
		return "", fmt.Errorf("no node %q", node)
	}
	return n.Run(ctx, "cat", "/proc/self/mountinfo")
}

// hasCapSysResource reports whether this machine lets root hold
// CAP_SYS_RESOURCE at all (the bounding set of this process, which every
// container's is a subset of). Growing a mounted ext4 filesystem needs it.
func hasCapSysResource() (bool, error) {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return false, fmt.Errorf("failed to read capabilities: %w", err)
	}
	for line := range strings.Lines(string(b)) {
		if hexCaps, ok := strings.CutPrefix(line, "CapBnd:"); ok {
			caps, err := strconv.ParseUint(strings.TrimSpace(hexCaps), 16, 64)
			if err != nil {
				return false, fmt.Errorf("failed to parse %q: %w", line, err)
			}
			return caps&(1<<unix.CAP_SYS_RESOURCE) != 0, nil
		}
	}
	return false, fmt.Errorf("no CapBnd in /proc/self/status")
}
