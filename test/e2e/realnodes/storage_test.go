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

	snapshotv1 "github.com/kubernetes-csi/external-snapshotter/client/v8/apis/volumesnapshot/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// writeData fills /data/blob with 8 MiB of random bytes and prints their
// SHA-256.
const writeData = "dd if=/dev/urandom of=/data/blob bs=1M count=8 2>/dev/null && sync && sha256sum /data/blob | cut -d' ' -f1 > /data/sum"

// TestSnapshotRestoreAndCloneReadBackData: a pod writes to a fresh
// WaitForFirstConsumer claim, a snapshot of it becomes ready, the original
// is overwritten, and pods on a restore and on a clone read back the data as
// it was when each was taken.
func TestSnapshotRestoreAndCloneReadBackData(t *testing.T) {
	e := cluster(t)
	ns := e.namespace(t, "data")
	e.create(t, claim(ns, "data", "plinth", "256Mi"), testPod(ns, "writer", writeData, withClaim("data")))
	writer := e.running(t, ns, "writer")
	pv := e.bound(t, ns, "data")
	if node := volumeNode(pv); node != writer.Spec.NodeName {
		t.Errorf("volume is on %q, its pod on %q", node, writer.Spec.NodeName)
	}
	first := e.exec(t, ns, "writer", "cat /data/sum && sha256sum /data/blob")
	sum := first[:64]
	if first[65:129] != sum {
		t.Fatalf("the blob's checksum %q differs from the one written %q", first[65:129], sum)
	}

	e.create(t, &snapshotv1.VolumeSnapshot{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "snap"},
		Spec:       snapshotv1.VolumeSnapshotSpec{Source: snapshotv1.VolumeSnapshotSource{PersistentVolumeClaimName: ptr.To("data")}},
	})
	e.snapshotReady(t, ns, "snap")
	// The clone is taken now, from the overwritten claim.
	overwritten := e.exec(t, ns, "writer", writeData+" && cat /data/sum")
	if overwritten == sum {
		t.Fatal("overwriting produced the same checksum")
	}

	restore := claim(ns, "restored", "plinth", "256Mi")
	restore.Spec.DataSource = &corev1.TypedLocalObjectReference{APIGroup: ptr.To(snapshotv1.GroupName), Kind: "VolumeSnapshot", Name: "snap"}
	clone := claim(ns, "cloned", "plinth", "256Mi")
	clone.Spec.DataSource = &corev1.TypedLocalObjectReference{Kind: "PersistentVolumeClaim", Name: "data"}
	e.create(t, restore, clone,
		testPod(ns, "restored", "", withClaim("restored")),
		testPod(ns, "cloned", "", withClaim("cloned")))
	for name, want := range map[string]string{"restored": sum, "cloned": overwritten} {
		p := e.running(t, ns, name)
		if got := e.exec(t, ns, name, "sha256sum /data/blob | cut -d' ' -f1"); got != want {
			t.Errorf("%s reads checksum %s, want %s", name, got, want)
		}
		if p.Spec.NodeName != writer.Spec.NodeName {
			t.Errorf("%s runs on %s, away from its source's node %s", name, p.Spec.NodeName, writer.Spec.NodeName)
		}
	}
}

// snapshotReady waits until the snapshot is ready to use.
func (e *env) snapshotReady(t testing.TB, ns, name string) {
	t.Helper()
	e.poll(t, "snapshot "+name+" ready", func(ctx context.Context) (bool, error) {
		s := &snapshotv1.VolumeSnapshot{}
		err := e.client.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, s)
		return err == nil && s.Status != nil && ptr.Deref(s.Status.ReadyToUse, false), err
	})
}
