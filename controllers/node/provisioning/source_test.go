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
	"strings"
	"testing"

	"github.com/container-storage-interface/spec/lib/go/csi"
	snapshotv1 "github.com/kubernetes-csi/external-snapshotter/client/v8/apis/volumesnapshot/v1"
	"google.golang.org/grpc"
	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/tools/events"
	"k8s.io/component-helpers/storage/volume"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"

	"github.com/plinth-dev/plinth/controllers/node/nodedeps"
	"github.com/plinth-dev/plinth/internal/wellknown"
	"github.com/plinth-dev/plinth/test/objects"
)

const testNode = "node-1"

// fakeController is a CSI controller service that creates whatever it is
// asked for and remembers the requests.
type fakeController struct {
	csi.ControllerClient
	creates []*csi.CreateVolumeRequest
	deletes []string
	// onCreate, when set, runs before each CreateVolume.
	onCreate func(*csi.CreateVolumeRequest)
	// createErr and deleteErr, when set, are CreateVolume's and
	// DeleteVolume's answers.
	createErr, deleteErr error
}

func (f *fakeController) DeleteVolume(_ context.Context, req *csi.DeleteVolumeRequest, _ ...grpc.CallOption) (*csi.DeleteVolumeResponse, error) {
	f.deletes = append(f.deletes, req.GetVolumeId())
	if f.deleteErr != nil {
		return nil, f.deleteErr
	}
	return &csi.DeleteVolumeResponse{}, nil
}

func (f *fakeController) CreateVolume(_ context.Context, req *csi.CreateVolumeRequest, _ ...grpc.CallOption) (*csi.CreateVolumeResponse, error) {
	if f.onCreate != nil {
		f.onCreate(req)
	}
	f.creates = append(f.creates, req)
	if f.createErr != nil {
		return nil, f.createErr
	}
	return &csi.CreateVolumeResponse{Volume: &csi.Volume{
		VolumeId: "vol-" + req.GetName(), CapacityBytes: req.GetCapacityRange().GetRequiredBytes(),
		AccessibleTopology: []*csi.Topology{{Segments: map[string]string{wellknown.TopologyKeyNode: testNode}}},
	}}, nil
}

type fixedTopology map[string]string

func (t fixedTopology) Segments() map[string]string { return t }

// sourceFixture is node-1's provisioner over a fake API server.
type sourceFixture struct {
	p        *Provisioner
	c        client.Client
	csi      *fakeController
	recorder *events.FakeRecorder
}

func newSourceFixture(t *testing.T, objs ...client.Object) *sourceFixture {
	t.Helper()
	scheme := runtime.NewScheme()
	for _, add := range []func(*runtime.Scheme) error{clientgoscheme.AddToScheme, snapshotv1.AddToScheme} {
		if err := add(scheme); err != nil {
			t.Fatal(err)
		}
	}
	scheme.AddKnownTypeWithName(referenceGrantList.GroupVersion().WithKind(wellknown.ReferenceGrantKind), &unstructured.Unstructured{})
	scheme.AddKnownTypeWithName(referenceGrantList, &unstructured.UnstructuredList{})
	objs = append(objs, &storagev1.StorageClass{ObjectMeta: metav1.ObjectMeta{Name: "plinth"}, Provisioner: wellknown.DriverName})
	c := fake.NewClientBuilder().WithScheme(scheme).WithObjects(objs...).
		WithIndex(&corev1.PersistentVolumeClaim{}, indexDataSource, dataSourceKey).
		Build()
	f := &sourceFixture{c: c, csi: &fakeController{}, recorder: events.NewFakeRecorder(100)}
	f.p = &Provisioner{
		Deps:     nodedeps.Deps{Client: c, Controller: f.csi, DriverName: wellknown.DriverName, NodeName: testNode, Recorder: f.recorder},
		Reader:   c,
		Topology: fixedTopology{wellknown.TopologyKeyNode: testNode},
	}
	return f
}

// blockSource returns, in namespace ns, a bound Block claim "block" of
// node-1 and a ready snapshot "snap" of it whose content records the
// Block mode; edit changes the content.
func blockSource(ns string, edit func(*snapshotv1.VolumeSnapshotContent)) []client.Object {
	block := ptr.To(corev1.PersistentVolumeBlock)
	pv := &corev1.PersistentVolume{
		ObjectMeta: metav1.ObjectMeta{Name: "pv-" + ns, Annotations: map[string]string{wellknown.AnnNode: testNode}},
		Spec: corev1.PersistentVolumeSpec{
			Capacity:   corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("1Gi")},
			VolumeMode: block,
			PersistentVolumeSource: corev1.PersistentVolumeSource{CSI: &corev1.CSIPersistentVolumeSource{
				Driver: wellknown.DriverName, VolumeHandle: "vol-" + ns,
			}},
		},
	}
	pvc := objects.Claim(ns, "block", "plinth", "1Gi")
	pvc.Spec.VolumeMode, pvc.Spec.VolumeName = block, pv.Name
	pvc.Status.Phase = corev1.ClaimBound
	content := &snapshotv1.VolumeSnapshotContent{
		ObjectMeta: metav1.ObjectMeta{Name: "content-" + ns, Annotations: map[string]string{wellknown.AnnNode: testNode}},
		Spec: snapshotv1.VolumeSnapshotContentSpec{
			Driver: wellknown.DriverName, SourceVolumeMode: block,
			VolumeSnapshotRef: corev1.ObjectReference{Namespace: ns, Name: "snap"},
		},
		Status: &snapshotv1.VolumeSnapshotContentStatus{SnapshotHandle: ptr.To("snap-" + ns), RestoreSize: ptr.To[int64](1 << 30)},
	}
	if edit != nil {
		edit(content)
	}
	snap := &snapshotv1.VolumeSnapshot{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "snap"},
		Spec:       snapshotv1.VolumeSnapshotSpec{Source: snapshotv1.VolumeSnapshotSource{PersistentVolumeClaimName: ptr.To("block")}},
		Status:     &snapshotv1.VolumeSnapshotStatus{BoundVolumeSnapshotContentName: ptr.To(content.Name), ReadyToUse: ptr.To(true)},
	}
	return []client.Object{pv, pvc, content, snap}
}

// newClaim returns a claim selected for node-1 whose data source is ref.
func newClaim(ns string, mode corev1.PersistentVolumeMode, ref *corev1.TypedObjectReference) *corev1.PersistentVolumeClaim {
	pvc := objects.Claim(ns, "new", "plinth", "1Gi")
	pvc.UID = types.UID(ns + "-new")
	pvc.Spec.VolumeMode = ptr.To(mode)
	pvc.Spec.DataSourceRef = ref
	pvc.Annotations = map[string]string{volume.AnnStorageProvisioner: wellknown.DriverName, volume.AnnSelectedNode: testNode}
	return pvc
}

func snapshotRef(namespace string) *corev1.TypedObjectReference {
	ref := &corev1.TypedObjectReference{APIGroup: ptr.To(snapshotv1.GroupName), Kind: "VolumeSnapshot", Name: "snap"}
	if namespace != "" {
		ref.Namespace = ptr.To(namespace)
	}
	return ref
}

var cloneRef = &corev1.TypedObjectReference{Kind: "PersistentVolumeClaim", Name: "block"}

// reconcile runs the provisioner once for the claim and returns the
// Events it emitted.
func (f *sourceFixture) reconcile(t *testing.T, pvc *corev1.PersistentVolumeClaim) ([]string, error) {
	t.Helper()
	_, err := f.p.Reconcile(context.Background(), ctrl.Request{NamespacedName: client.ObjectKeyFromObject(pvc)})
	var evs []string
	for len(f.recorder.Events) > 0 {
		evs = append(evs, <-f.recorder.Events)
	}
	return evs, err
}

// provisioned reports whether the claim got a PV.
func (f *sourceFixture) provisioned(t *testing.T, pvc *corev1.PersistentVolumeClaim) bool {
	t.Helper()
	err := f.c.Get(context.Background(), client.ObjectKey{Name: wellknown.VolumeName(string(pvc.UID))}, &corev1.PersistentVolume{})
	if err != nil && !apierrors.IsNotFound(err) {
		t.Fatal(err)
	}
	return err == nil
}

func hasEvent(evs []string, reason, text string) bool {
	for _, e := range evs {
		if strings.Contains(e, " "+reason+" ") && strings.Contains(e, text) {
			return true
		}
	}
	return false
}

// TestVolumeModeConversionIsRefused pins KEP-3141: a Block source never
// becomes a Filesystem volume (or the reverse) unless an admin annotated
// the snapshot content; a clone never changes mode.
func TestVolumeModeConversionIsRefused(t *testing.T) {
	allow := func(c *snapshotv1.VolumeSnapshotContent) { c.Annotations[wellknown.AnnAllowVolumeModeChange] = "true" }
	unrecorded := func(c *snapshotv1.VolumeSnapshotContent) { c.Spec.SourceVolumeMode = nil }
	for _, tc := range []struct {
		name    string
		mode    corev1.PersistentVolumeMode
		ref     *corev1.TypedObjectReference
		content func(*snapshotv1.VolumeSnapshotContent)
		want    bool
	}{
		{"restore of a Block snapshot into a Filesystem claim", corev1.PersistentVolumeFilesystem, snapshotRef(""), nil, false},
		{"restore of a Block snapshot into a Block claim", corev1.PersistentVolumeBlock, snapshotRef(""), nil, true},
		{"restore allowed by the content's annotation", corev1.PersistentVolumeFilesystem, snapshotRef(""), allow, true},
		{"restore of a content that does not record the mode", corev1.PersistentVolumeFilesystem, snapshotRef(""), unrecorded, true},
		{"clone of a Block claim into a Filesystem claim", corev1.PersistentVolumeFilesystem, cloneRef, nil, false},
		{"clone of a Block claim into a Filesystem claim, content annotated", corev1.PersistentVolumeFilesystem, cloneRef, allow, false},
		{"clone of a Block claim into a Block claim", corev1.PersistentVolumeBlock, cloneRef, nil, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pvc := newClaim("ns", tc.mode, tc.ref)
			f := newSourceFixture(t, append(blockSource("ns", tc.content), pvc)...)
			evs, err := f.reconcile(t, pvc)
			if err != nil {
				t.Fatalf("Reconcile: %v", err)
			}
			if got := f.provisioned(t, pvc); got != tc.want {
				t.Fatalf("provisioned = %v, want %v (events %q)", got, tc.want, evs)
			}
			if tc.want {
				return
			}
			if len(f.csi.creates) != 0 {
				t.Errorf("CreateVolume was called %d times for a refused conversion", len(f.csi.creates))
			}
			if !hasEvent(evs, ReasonProvisioningFailed, "volume mode from Block") {
				t.Errorf("no ProvisioningFailed Event explains the refusal; events: %q", evs)
			}
		})
	}
}

// referenceGrant returns a ReferenceGrant in namespace ns that lets claims
// of namespace from use VolumeSnapshots.
func referenceGrant(ns, from string) *unstructured.Unstructured {
	g := &unstructured.Unstructured{Object: map[string]any{
		"metadata": map[string]any{"namespace": ns, "name": "grant-" + from},
		"spec": map[string]any{
			"from": []any{map[string]any{"group": "", "kind": "PersistentVolumeClaim", "namespace": from}},
			"to":   []any{map[string]any{"group": snapshotv1.GroupName, "kind": "VolumeSnapshot"}},
		},
	}}
	g.SetGroupVersionKind(referenceGrantList.GroupVersion().WithKind(wellknown.ReferenceGrantKind))
	return g
}

// TestCrossNamespaceSourceNeedsAReferenceGrant pins the upstream
// CrossNamespaceVolumeDataSource rule: dataSourceRef.namespace is honoured,
// and only with a ReferenceGrant in the source's namespace. Namespace
// "tenant" holds a same-named snapshot that must never be used instead.
func TestCrossNamespaceSourceNeedsAReferenceGrant(t *testing.T) {
	for _, tc := range []struct {
		name  string
		grant client.Object
		want  bool
	}{
		{"no grant", nil, false},
		{"a grant for claims of another namespace", referenceGrant("shared", "other"), false},
		{"a grant for the claim's namespace", referenceGrant("shared", "tenant"), true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pvc := newClaim("tenant", corev1.PersistentVolumeBlock, snapshotRef("shared"))
			objs := append(blockSource("shared", nil), blockSource("tenant", nil)...)
			if tc.grant != nil {
				objs = append(objs, tc.grant)
			}
			f := newSourceFixture(t, append(objs, pvc)...)
			evs, err := f.reconcile(t, pvc)
			if got := f.provisioned(t, pvc); got != tc.want {
				t.Fatalf("provisioned = %v, want %v (err %v, events %q)", got, tc.want, err, evs)
			}
			if tc.want {
				if err != nil {
					t.Fatalf("Reconcile: %v", err)
				}
				if got := f.csi.creates[0].GetVolumeContentSource().GetSnapshot().GetSnapshotId(); got != "snap-shared" {
					t.Errorf("restored from snapshot %q, want snap-shared (the one in namespace shared)", got)
				}
				return
			}
			if err == nil {
				t.Errorf("Reconcile returned no error: a grant made later would never be noticed")
			}
			if len(f.csi.creates) != 0 {
				t.Errorf("CreateVolume was called without a ReferenceGrant: %v", f.csi.creates[0].GetVolumeContentSource())
			}
			if !hasEvent(evs, ReasonProvisioningFailed, "ReferenceGrant") {
				t.Errorf("no ProvisioningFailed Event names the missing ReferenceGrant; events: %q", evs)
			}
		})
	}
}
