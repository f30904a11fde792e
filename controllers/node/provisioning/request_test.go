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
	"testing"

	"github.com/container-storage-interface/spec/lib/go/csi"
	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	"k8s.io/utils/ptr"

	"github.com/plinth-dev/plinth/test/objects"
)

func TestCreateRequestIsAPureFunctionOfClaimAndClass(t *testing.T) {
	pvc := objects.Claim("ns", "data", "fast", "1Gi")
	pvc.UID = "1234"
	class := &storagev1.StorageClass{
		Parameters:   map[string]string{"csi.storage.k8s.io/fstype": "xfs", "pool": "ssd"},
		MountOptions: []string{"noatime"},
	}
	topo := map[string]string{"topology.csi.plinth.dev/node": "node-1"}
	req, err := createRequest(pvc, class, topo, nil)
	if err != nil {
		t.Fatal(err)
	}
	if req.Name != "pvc-1234" {
		t.Errorf("name = %q, want pvc-1234", req.Name)
	}
	if got := req.CapacityRange.GetRequiredBytes(); got != 1<<30 {
		t.Errorf("required bytes = %d, want 1Gi", got)
	}
	want := map[string]string{"pool": "ssd", paramPVCName: "data", paramPVCNS: "ns", paramPVName: "pvc-1234"}
	if len(req.Parameters) != len(want) {
		t.Errorf("parameters = %v, want %v", req.Parameters, want)
	}
	for k, v := range want {
		if req.Parameters[k] != v {
			t.Errorf("parameter %s = %q, want %q", k, req.Parameters[k], v)
		}
	}
	mount := req.VolumeCapabilities[0].GetMount()
	if mount.GetFsType() != "xfs" || len(mount.GetMountFlags()) != 1 {
		t.Errorf("mount capability = %v, want xfs with noatime", mount)
	}
	if got := req.AccessibilityRequirements.GetRequisite()[0].GetSegments(); got["topology.csi.plinth.dev/node"] != "node-1" {
		t.Errorf("requisite topology = %v, want node-1", got)
	}
	again, _ := createRequest(pvc, class, topo, nil)
	if again.String() != req.String() {
		t.Error("the same claim and class gave two different requests")
	}
}

func TestCreateRequestMapsAccessModesAndBlock(t *testing.T) {
	tests := []struct {
		mode  corev1.PersistentVolumeAccessMode
		block bool
		want  csi.VolumeCapability_AccessMode_Mode
	}{
		{corev1.ReadWriteOnce, false, csi.VolumeCapability_AccessMode_SINGLE_NODE_WRITER},
		{corev1.ReadWriteOncePod, true, csi.VolumeCapability_AccessMode_SINGLE_NODE_SINGLE_WRITER},
		{corev1.ReadOnlyMany, false, csi.VolumeCapability_AccessMode_MULTI_NODE_READER_ONLY},
	}
	for _, tt := range tests {
		pvc := objects.Claim("ns", "data", "fast", "1Gi")
		pvc.Spec.AccessModes = []corev1.PersistentVolumeAccessMode{tt.mode}
		if tt.block {
			pvc.Spec.VolumeMode = ptr.To(corev1.PersistentVolumeBlock)
		}
		req, err := createRequest(pvc, &storagev1.StorageClass{}, nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		c := req.VolumeCapabilities[0]
		if c.GetAccessMode().GetMode() != tt.want || (c.GetBlock() != nil) != tt.block {
			t.Errorf("%s block=%v: capability %v, want mode %v", tt.mode, tt.block, c, tt.want)
		}
	}
}

func TestCreateRequestRaisesARestoreToItsSourceSize(t *testing.T) {
	pvc := objects.Claim("ns", "restored", "fast", "100Mi")
	source := &resolvedSource{
		content: &csi.VolumeContentSource{Type: &csi.VolumeContentSource_Snapshot{Snapshot: &csi.VolumeContentSource_SnapshotSource{SnapshotId: "snap-1"}}},
		size:    300 << 20,
	}
	req, err := createRequest(pvc, &storagev1.StorageClass{}, nil, source)
	if err != nil {
		t.Fatal(err)
	}
	if got := req.CapacityRange.GetRequiredBytes(); got != 300<<20 {
		t.Errorf("required bytes = %d, want the source's %d", got, 300<<20)
	}
	if req.VolumeContentSource.GetSnapshot().GetSnapshotId() != "snap-1" {
		t.Errorf("content source = %v, want snap-1", req.VolumeContentSource)
	}
}

func TestCreateRequestRejectsAClaimWithoutAccessModes(t *testing.T) {
	pvc := objects.Claim("ns", "data", "fast", "1Gi")
	pvc.Spec.AccessModes = nil
	if _, err := createRequest(pvc, &storagev1.StorageClass{}, nil, nil); err == nil {
		t.Error("a claim without access modes gave a request")
	}
}

func TestNodeAffinityPinsTheVolumeToItsTopology(t *testing.T) {
	affinity := nodeAffinity([]*csi.Topology{{Segments: map[string]string{
		"topology.csi.plinth.dev/node": "node-2", corev1.LabelTopologyZone: "zone-a",
	}}})
	terms := affinity.Required.NodeSelectorTerms
	if len(terms) != 1 || len(terms[0].MatchExpressions) != 2 {
		t.Fatalf("terms = %v, want one term with two expressions", terms)
	}
	for _, e := range terms[0].MatchExpressions {
		if e.Operator != corev1.NodeSelectorOpIn || len(e.Values) != 1 {
			t.Errorf("expression %v is not Key In [value]", e)
		}
	}
	if terms[0].MatchExpressions[0].Key != "topology.csi.plinth.dev/node" {
		t.Errorf("expressions are not sorted by key: %v", terms[0].MatchExpressions)
	}
	if nodeAffinity(nil) != nil {
		t.Error("no topology gave a node affinity")
	}
}

func TestDataSourceRefWinsOverDataSource(t *testing.T) {
	pvc := objects.Claim("ns", "data", "fast", "1Gi")
	pvc.Spec.DataSource = &corev1.TypedLocalObjectReference{Kind: "PersistentVolumeClaim", Name: "a"}
	pvc.Spec.DataSourceRef = &corev1.TypedObjectReference{APIGroup: ptr.To("snapshot.storage.k8s.io"), Kind: "VolumeSnapshot", Name: "b"}
	got := dataSourceOf(pvc)
	if got == nil || got.kind != "VolumeSnapshot" || got.name != "b" {
		t.Errorf("data source = %+v, want the VolumeSnapshot b of dataSourceRef", got)
	}
	if dataSourceOf(objects.Claim("ns", "x", "fast", "1Gi")) != nil {
		t.Error("a claim without a data source has one")
	}
}
