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

package storagepool

import (
	"context"
	"errors"
	"strconv"
	"testing"

	"github.com/container-storage-interface/spec/lib/go/csi"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"

	storagev1alpha1 "github.com/plinth-dev/plinth/apis/storage/v1alpha1"
	"github.com/plinth-dev/plinth/controllers/node/nodedeps"
	"github.com/plinth-dev/plinth/csi-driver/backend/pool"
)

const nodeName = "node-1"

// fakeDriver answers the calls the reconciler makes, paginating its lists.
type fakeDriver struct {
	csi.IdentityClient
	csi.ControllerClient
	probeErr  error
	listErr   error
	volumes   int
	snapshots int
	listCalls int
	available int64
}

func (d *fakeDriver) Probe(context.Context, *csi.ProbeRequest, ...grpc.CallOption) (*csi.ProbeResponse, error) {
	return &csi.ProbeResponse{}, d.probeErr
}

func (d *fakeDriver) GetCapacity(context.Context, *csi.GetCapacityRequest, ...grpc.CallOption) (*csi.GetCapacityResponse, error) {
	return &csi.GetCapacityResponse{AvailableCapacity: d.available}, nil
}

func (d *fakeDriver) ListVolumes(_ context.Context, req *csi.ListVolumesRequest, _ ...grpc.CallOption) (*csi.ListVolumesResponse, error) {
	n, next, err := d.page(d.volumes, req.GetStartingToken(), req.GetMaxEntries())
	return &csi.ListVolumesResponse{Entries: make([]*csi.ListVolumesResponse_Entry, n), NextToken: next}, err
}

func (d *fakeDriver) ListSnapshots(_ context.Context, req *csi.ListSnapshotsRequest, _ ...grpc.CallOption) (*csi.ListSnapshotsResponse, error) {
	n, next, err := d.page(d.snapshots, req.GetStartingToken(), req.GetMaxEntries())
	return &csi.ListSnapshotsResponse{Entries: make([]*csi.ListSnapshotsResponse_Entry, n), NextToken: next}, err
}

func (d *fakeDriver) page(total int, token string, size int32) (int, string, error) {
	d.listCalls++
	if d.listErr != nil {
		return 0, "", d.listErr
	}
	start, _ := strconv.Atoi(token)
	end := min(start+int(size), total)
	if end == total {
		return end - start, "", nil
	}
	return end - start, strconv.Itoa(end), nil
}

func newReconciler(t *testing.T, d *fakeDriver, objs ...client.Object) *Reconciler {
	t.Helper()
	scheme := runtime.NewScheme()
	for _, add := range []func(*runtime.Scheme) error{clientgoscheme.AddToScheme, storagev1alpha1.AddToScheme} {
		if err := add(scheme); err != nil {
			t.Fatal(err)
		}
	}
	c := fake.NewClientBuilder().WithScheme(scheme).WithObjects(objs...).WithStatusSubresource(&storagev1alpha1.StoragePool{}).Build()
	return &Reconciler{
		Deps:     nodedeps.Deps{Client: c, Controller: d, DriverName: "plinth.test", NodeName: nodeName},
		Identity: d, Path: "/pool", OverProvisionRatio: 2,
		PoolInfo: func() (pool.Info, error) {
			return pool.Info{Filesystem: pool.FilesystemXFS, Reflink: true, CapacityBytes: 4 << 30, UsedBytes: 1 << 30}, nil
		},
	}
}

func node() *corev1.Node {
	return &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: nodeName, UID: "node-uid"}}
}

func reconcileOnce(t *testing.T, r *Reconciler) (*storagev1alpha1.StoragePool, error) {
	t.Helper()
	_, err := r.Reconcile(t.Context(), ctrl.Request{NamespacedName: client.ObjectKey{Name: nodeName}})
	sp := &storagev1alpha1.StoragePool{}
	if getErr := r.Client.Get(t.Context(), client.ObjectKey{Name: nodeName}, sp); getErr != nil {
		return nil, errors.Join(err, getErr)
	}
	return sp, err
}

func TestReconcileCreatesTheNodesPoolOwnedByTheNode(t *testing.T) {
	d := &fakeDriver{volumes: 600, snapshots: 3, available: 6 << 30}
	sp, err := reconcileOnce(t, newReconciler(t, d, node()))
	if err != nil {
		t.Fatal(err)
	}
	if sp.Spec.NodeName != nodeName || sp.Spec.Path != "/pool" || sp.Spec.OverProvisionRatio.String() != "2" {
		t.Errorf("spec = %+v, want node %s, path /pool, ratio 2", sp.Spec, nodeName)
	}
	if refs := sp.OwnerReferences; len(refs) != 1 || refs[0].Kind != "Node" || refs[0].UID != "node-uid" {
		t.Errorf("owner references = %+v, want the Node", refs)
	}
	st := sp.Status
	if st.Volumes != 600 || st.Snapshots != 3 || st.Available.Value() != 6<<30 || st.Filesystem != pool.FilesystemXFS || !st.Reflink {
		t.Errorf("status = %+v, want 600 volumes (three pages), 3 snapshots, 6Gi available on reflinking xfs", st)
	}
	if !meta.IsStatusConditionTrue(st.Conditions, storagev1alpha1.PoolReady) {
		t.Errorf("conditions = %+v, want Ready", st.Conditions)
	}
}

func TestReconcileMarksAPoolThatFailsItsProbeUnavailable(t *testing.T) {
	d := &fakeDriver{volumes: 2}
	r := newReconciler(t, d, node())
	if _, err := reconcileOnce(t, r); err != nil {
		t.Fatal(err)
	}
	d.probeErr = status.Error(codes.FailedPrecondition, "backend is unhealthy: read-only file system")
	d.volumes = 0
	sp, err := reconcileOnce(t, r)
	if err != nil {
		t.Fatal(err)
	}
	ready := meta.FindStatusCondition(sp.Status.Conditions, storagev1alpha1.PoolReady)
	if ready == nil || ready.Status != metav1.ConditionFalse || ready.Reason != storagev1alpha1.ReasonPoolUnavailable ||
		ready.Message != "backend is unhealthy: read-only file system" {
		t.Errorf("Ready = %+v, want False/%s with the probe's message", ready, storagev1alpha1.ReasonPoolUnavailable)
	}
	if sp.Status.Volumes != 2 {
		t.Errorf("volumes = %d, want the 2 last seen", sp.Status.Volumes)
	}
}

func TestReconcileRestoresAnEditedSpec(t *testing.T) {
	edited := &storagev1alpha1.StoragePool{
		ObjectMeta: metav1.ObjectMeta{Name: nodeName},
		Spec:       storagev1alpha1.StoragePoolSpec{NodeName: nodeName, Path: "/elsewhere"},
	}
	sp, err := reconcileOnce(t, newReconciler(t, &fakeDriver{}, node(), edited))
	if err != nil {
		t.Fatal(err)
	}
	if sp.Spec.Path != "/pool" || sp.Spec.OverProvisionRatio == nil || len(sp.OwnerReferences) != 1 {
		t.Errorf("pool = %+v, want the configured spec and the Node as owner", sp)
	}
}

func TestReconcileLeavesTheStatusAloneWhenTheDriverCannotBeRead(t *testing.T) {
	failure := status.Error(codes.Aborted, "starting_token is not valid")
	sp, err := reconcileOnce(t, newReconciler(t, &fakeDriver{listErr: failure}, node()))
	if status.Code(err) != codes.Aborted {
		t.Errorf("error = %v, want the listing's", err)
	}
	if sp == nil || len(sp.Status.Conditions) != 0 {
		t.Errorf("pool = %+v, want one with an empty status", sp)
	}
}

func TestReconcileWithoutTheNodeCreatesNothing(t *testing.T) {
	r := newReconciler(t, &fakeDriver{})
	if _, err := r.Reconcile(t.Context(), ctrl.Request{NamespacedName: client.ObjectKey{Name: nodeName}}); err != nil {
		t.Fatal(err)
	}
	err := r.Client.Get(t.Context(), client.ObjectKey{Name: nodeName}, &storagev1alpha1.StoragePool{})
	if !apierrors.IsNotFound(err) {
		t.Errorf("Get StoragePool = %v, want NotFound", err)
	}
}

func TestReconcileIgnoresOtherNodesPools(t *testing.T) {
	d := &fakeDriver{}
	r := newReconciler(t, d, node())
	if _, err := r.Reconcile(t.Context(), ctrl.Request{NamespacedName: client.ObjectKey{Name: "node-2"}}); err != nil {
		t.Fatal(err)
	}
	if d.listCalls != 0 {
		t.Errorf("reconciling another node's pool called the driver %d times", d.listCalls)
	}
}
