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

package provisioning

import (
	"context"
	"errors"
	"slices"
	"testing"

	"github.com/container-storage-interface/spec/lib/go/csi"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/component-helpers/storage/volume"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/plinth-dev/plinth/csi-driver/backend"
	"github.com/plinth-dev/plinth/internal/wellknown"
	"github.com/plinth-dev/plinth/test/objects"
)

// TestTheVolumeIDIsRecordedBeforeCreateVolume pins the durable intent: when
// CreateVolume runs, the claim already names the volume it will get.
func TestTheVolumeIDIsRecordedBeforeCreateVolume(t *testing.T) {
	pvc := objects.Claim("ns", "data", "plinth", "1Gi")
	pvc.UID = "1234"
	pvc.Annotations = map[string]string{
		volume.AnnStorageProvisioner: wellknown.DriverName, volume.AnnSelectedNode: testNode,
		// The claim's owner can write annotations: what it wrote is replaced.
		wellknown.AnnVolumeID: string(backend.NewVolumeID(wellknown.VolumeName("victim"))),
	}
	f := newSourceFixture(t, pvc)
	want := string(backend.NewVolumeID(wellknown.VolumeName("1234")))
	var recorded string
	f.csi.onCreate = func(*csi.CreateVolumeRequest) {
		got := &corev1.PersistentVolumeClaim{}
		if err := f.c.Get(context.Background(), client.ObjectKeyFromObject(pvc), got); err != nil {
			t.Fatal(err)
		}
		recorded = got.Annotations[wellknown.AnnVolumeID]
	}
	if _, err := f.reconcile(t, pvc); err != nil {
		t.Fatal(err)
	}
	if len(f.csi.creates) != 1 || recorded != want {
		t.Errorf("at CreateVolume the claim recorded volume %q, want %q (%d calls)", recorded, want, len(f.csi.creates))
	}
	got := &corev1.PersistentVolumeClaim{}
	if err := f.c.Get(context.Background(), client.ObjectKeyFromObject(pvc), got); err != nil {
		t.Fatal(err)
	}
	if _, ok := got.Annotations[wellknown.AnnVolumeID]; ok {
		t.Errorf("the recorded ID outlived the intent once a PV recorded the volume")
	}
}

// TestCleanupDeletesTheRecordedVolume pins the cleanup of a claim deleted
// before its PV existed: the recorded volume is deleted even when the
// claim's StorageClass and data source are gone, and CreateVolume is never
// called to learn its ID.
func TestCleanupDeletesTheRecordedVolume(t *testing.T) {
	for name, edit := range map[string]func(*corev1.PersistentVolumeClaim){
		"the StorageClass was deleted": func(pvc *corev1.PersistentVolumeClaim) { pvc.Spec.StorageClassName = ptr.To("deleted-class") },
		"the data source was deleted": func(pvc *corev1.PersistentVolumeClaim) {
			pvc.Spec.DataSourceRef = snapshotRef("")
			pvc.Spec.DataSourceRef.Name = "deleted-snapshot"
		},
		"the intent predates recorded IDs": func(pvc *corev1.PersistentVolumeClaim) { delete(pvc.Annotations, wellknown.AnnVolumeID) },
		"the StorageClass was deleted before kube-controller-manager named the provisioner": func(pvc *corev1.PersistentVolumeClaim) {
			delete(pvc.Annotations, volume.AnnStorageProvisioner)
			pvc.Spec.StorageClassName = ptr.To("deleted-class")
		},
		"the claim's owner wrote another tenant's volume ID": func(pvc *corev1.PersistentVolumeClaim) {
			pvc.Annotations[wellknown.AnnVolumeID] = string(backend.NewVolumeID(wellknown.VolumeName("victim")))
		},
	} {
		t.Run(name, func(t *testing.T) {
			pvc := objects.Claim("ns", "data", "plinth", "1Gi")
			pvc.UID = types.UID("uid-1")
			pvc.Finalizers = []string{wellknown.FinalizerProvisioning}
			pvc.DeletionTimestamp = &metav1.Time{Time: metav1.Now().Time}
			id := string(backend.NewVolumeID(wellknown.VolumeName("uid-1")))
			pvc.Annotations = map[string]string{
				volume.AnnStorageProvisioner: wellknown.DriverName, volume.AnnSelectedNode: testNode,
				wellknown.AnnProvisioningNode: testNode, wellknown.AnnVolumeID: id,
			}
			edit(pvc)
			f := newSourceFixture(t, pvc)
			if _, err := f.reconcile(t, pvc); err != nil {
				t.Fatal(err)
			}
			if len(f.csi.creates) != 0 {
				t.Errorf("cleanup called CreateVolume %d times", len(f.csi.creates))
			}
			if !slices.Equal(f.csi.deletes, []string{id}) {
				t.Errorf("cleanup deleted %v, want [%s]", f.csi.deletes, id)
			}
			err := f.c.Get(context.Background(), client.ObjectKeyFromObject(pvc), &corev1.PersistentVolumeClaim{})
			if !apierrors.IsNotFound(err) {
				t.Errorf("the claim is still there after its cleanup: %v", err)
			}
		})
	}
}

// TestAClaimWhoseCreateVolumeFailedLeavesNothingBehind is the leak of a
// final CreateVolume failure: the driver may have made part of the volume,
// and when the claim goes, cleanup deletes the recorded ID.
func TestAClaimWhoseCreateVolumeFailedLeavesNothingBehind(t *testing.T) {
	pvc := objects.Claim("ns", "data", "plinth", "1Gi")
	pvc.UID = "uid-2"
	pvc.Annotations = map[string]string{volume.AnnStorageProvisioner: wellknown.DriverName, volume.AnnSelectedNode: testNode}
	f := newSourceFixture(t, pvc)
	f.csi.createErr = status.Error(codes.InvalidArgument, "the backend gave up half-way")
	if _, err := f.reconcile(t, pvc); err == nil {
		t.Fatal("Reconcile hid the CreateVolume failure")
	}
	ctx := context.Background()
	if err := f.c.Delete(ctx, pvc); err != nil {
		t.Fatal(err)
	}
	if _, err := f.reconcile(t, pvc); err != nil {
		t.Fatal(err)
	}
	want := string(backend.NewVolumeID(wellknown.VolumeName("uid-2")))
	if !slices.Equal(f.csi.deletes, []string{want}) {
		t.Errorf("after the failed CreateVolume and the claim's deletion, DeleteVolume got %v, want [%s]", f.csi.deletes, want)
	}
	if err := f.c.Get(ctx, client.ObjectKeyFromObject(pvc), &corev1.PersistentVolumeClaim{}); !apierrors.IsNotFound(err) {
		t.Errorf("the claim is still there after its cleanup: %v", err)
	}
}

// fakeLedger is a Ledger that records volumes, failing while err is set.
type fakeLedger struct {
	ids []string
	err error
}

func (l *fakeLedger) Add(id string) error {
	if l.err != nil {
		return l.err
	}
	l.ids = append(l.ids, id)
	return nil
}

// TestAVolumeCleanupGaveUpOnIsRecordedBeforeTheClaimGoes: when DeleteVolume
// fails for good, the claim goes only once the orphan sweep's ledger has
// the volume; until it does, the claim (and with it the record of its
// volume) stays.
func TestAVolumeCleanupGaveUpOnIsRecordedBeforeTheClaimGoes(t *testing.T) {
	pvc := objects.Claim("ns", "data", "plinth", "1Gi")
	pvc.UID = "uid-3"
	pvc.Finalizers = []string{wellknown.FinalizerProvisioning}
	pvc.DeletionTimestamp = &metav1.Time{Time: metav1.Now().Time}
	pvc.Annotations = map[string]string{
		volume.AnnStorageProvisioner: wellknown.DriverName, volume.AnnSelectedNode: testNode, wellknown.AnnProvisioningNode: testNode,
	}
	f := newSourceFixture(t, pvc)
	f.csi.deleteErr = status.Error(codes.FailedPrecondition, "the backend refuses")
	ledger := &fakeLedger{err: errors.New("disk full")}
	f.p.Abandoned = ledger
	ctx := context.Background()

	if _, err := f.reconcile(t, pvc); err == nil {
		t.Fatal("cleanup let the claim go although its volume could not be recorded")
	}
	if err := f.c.Get(ctx, client.ObjectKeyFromObject(pvc), &corev1.PersistentVolumeClaim{}); err != nil {
		t.Fatalf("the claim is gone while its volume is neither deleted nor recorded: %v", err)
	}

	ledger.err = nil
	if _, err := f.reconcile(t, pvc); err != nil {
		t.Fatal(err)
	}
	want := string(backend.NewVolumeID(wellknown.VolumeName("uid-3")))
	if !slices.Equal(ledger.ids, []string{want}) {
		t.Errorf("ledger %v, want [%s]", ledger.ids, want)
	}
	if err := f.c.Get(ctx, client.ObjectKeyFromObject(pvc), &corev1.PersistentVolumeClaim{}); !apierrors.IsNotFound(err) {
		t.Errorf("the claim is still there once its volume was recorded: %v", err)
	}
}
