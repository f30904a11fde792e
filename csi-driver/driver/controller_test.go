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

package driver_test

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/container-storage-interface/spec/lib/go/csi"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	"github.com/plinth-dev/plinth/csi-driver/driver"
	"github.com/plinth-dev/plinth/csi-driver/internal/drivertest"
	"github.com/plinth-dev/plinth/test/testpool"
)

func code(err error) codes.Code { return status.Code(err) }

// listTree returns every path under dir, to prove a call touched nothing.
func listTree(t *testing.T, dir string) []string {
	t.Helper()
	var paths []string
	err := filepath.WalkDir(dir, func(path string, _ os.DirEntry, err error) error {
		paths = append(paths, path)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return paths
}

// TestMalformedIDsNeverReachTheDisk: an ID not in the driver's format names
// no volume or snapshot the driver could have made. Every call answers as
// for a missing object (NotFound, or success for deletions) and leaves the
// disk as it was, whatever the ID tries (path traversal, an absolute path,
// the IDs csi-sanity's default generator makes).
func TestMalformedIDsNeverReachTheDisk(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	h := serve(t, filepath.Join(dir, "pool"), testpool.Ext4)
	canary := filepath.Join(dir, "canary.img")
	if err := os.WriteFile(canary, []byte("keep"), 0o600); err != nil {
		t.Fatal(err)
	}
	staging, target := filepath.Join(h.Dir, "staging"), filepath.Join(h.Dir, "target")
	for _, d := range []string{staging, target} {
		if err := os.Mkdir(d, 0o750); err != nil {
			t.Fatal(err)
		}
	}
	before := slices.Concat(listTree(t, dir), listTree(t, h.Dir))
	for _, bad := range []string{"../canary", "vol-../../../canary", "/etc/passwd", "vol-0123456789abcdef0123456789abcdeF", "fake-vol-id-0123456789", "fake-vol-id"} {
		for name, tc := range malformedIDCalls(h, bad, staging, target) {
			t.Run(bad+"/"+name, func(t *testing.T) {
				if got := code(tc.call(ctx)); got != tc.want {
					t.Errorf("code = %v, want %v", got, tc.want)
				}
			})
		}
	}
	if after := slices.Concat(listTree(t, dir), listTree(t, h.Dir)); !slices.Equal(after, before) {
		t.Errorf("the calls changed the disk: before %v, after %v", before, after)
	}
}

type idCall struct {
	call func(context.Context) error
	want codes.Code
}

// malformedIDCalls are the calls TestMalformedIDsNeverReachTheDisk makes
// with the ID bad, and the code each must return.
func malformedIDCalls(h *harness, bad, staging, target string) map[string]idCall {
	mount := drivertest.MountCapability
	return map[string]idCall{
		"DeleteVolume is a no-op": {func(ctx context.Context) error {
			_, err := h.Controller.DeleteVolume(ctx, &csi.DeleteVolumeRequest{VolumeId: bad})
			return err
		}, codes.OK},
		"DeleteSnapshot is a no-op": {func(ctx context.Context) error {
			_, err := h.Controller.DeleteSnapshot(ctx, &csi.DeleteSnapshotRequest{SnapshotId: bad})
			return err
		}, codes.OK},
		"content source": {func(ctx context.Context) error {
			_, err := h.Controller.CreateVolume(ctx, &csi.CreateVolumeRequest{Name: "v", VolumeCapabilities: []*csi.VolumeCapability{mount},
				VolumeContentSource: drivertest.VolumeSource(bad)})
			return err
		}, codes.NotFound},
		"ControllerGetVolume": {func(ctx context.Context) error {
			_, err := h.Controller.ControllerGetVolume(ctx, &csi.ControllerGetVolumeRequest{VolumeId: bad})
			return err
		}, codes.NotFound},
		"ValidateVolumeCapabilities": {func(ctx context.Context) error {
			_, err := h.Controller.ValidateVolumeCapabilities(ctx, &csi.ValidateVolumeCapabilitiesRequest{VolumeId: bad, VolumeCapabilities: []*csi.VolumeCapability{mount}})
			return err
		}, codes.NotFound},
		"ValidateVolumeCapabilities without capabilities": {func(ctx context.Context) error {
			_, err := h.Controller.ValidateVolumeCapabilities(ctx, &csi.ValidateVolumeCapabilitiesRequest{VolumeId: bad})
			return err
		}, codes.InvalidArgument},
		"ControllerExpandVolume": {func(ctx context.Context) error {
			_, err := h.Controller.ControllerExpandVolume(ctx, &csi.ControllerExpandVolumeRequest{VolumeId: bad, CapacityRange: &csi.CapacityRange{RequiredBytes: 1 << 30}})
			return err
		}, codes.NotFound},
		"CreateSnapshot source": {func(ctx context.Context) error {
			_, err := h.Controller.CreateSnapshot(ctx, &csi.CreateSnapshotRequest{Name: "s", SourceVolumeId: bad})
			return err
		}, codes.NotFound},
		"GetSnapshot": {func(ctx context.Context) error {
			_, err := h.Controller.GetSnapshot(ctx, &csi.GetSnapshotRequest{SnapshotId: bad})
			return err
		}, codes.NotFound},
		"NodeStageVolume": {func(ctx context.Context) error {
			_, err := h.Node.NodeStageVolume(ctx, &csi.NodeStageVolumeRequest{VolumeId: bad, StagingTargetPath: staging, VolumeCapability: mount})
			return err
		}, codes.NotFound},
		"NodeStageVolume without a staging path": {func(ctx context.Context) error {
			_, err := h.Node.NodeStageVolume(ctx, &csi.NodeStageVolumeRequest{VolumeId: bad, VolumeCapability: mount})
			return err
		}, codes.InvalidArgument},
		"NodePublishVolume": {func(ctx context.Context) error {
			_, err := h.Node.NodePublishVolume(ctx, &csi.NodePublishVolumeRequest{VolumeId: bad, StagingTargetPath: staging, TargetPath: target, VolumeCapability: mount})
			return err
		}, codes.NotFound},
		"NodeUnpublishVolume": {func(ctx context.Context) error {
			_, err := h.Node.NodeUnpublishVolume(ctx, &csi.NodeUnpublishVolumeRequest{VolumeId: bad, TargetPath: target})
			return err
		}, codes.NotFound},
		"NodeUnstageVolume": {func(ctx context.Context) error {
			_, err := h.Node.NodeUnstageVolume(ctx, &csi.NodeUnstageVolumeRequest{VolumeId: bad, StagingTargetPath: staging})
			return err
		}, codes.NotFound},
		"NodeGetVolumeStats": {func(ctx context.Context) error {
			_, err := h.Node.NodeGetVolumeStats(ctx, &csi.NodeGetVolumeStatsRequest{VolumeId: bad, VolumePath: target})
			return err
		}, codes.NotFound},
		"NodeExpandVolume": {func(ctx context.Context) error {
			_, err := h.Node.NodeExpandVolume(ctx, &csi.NodeExpandVolumeRequest{VolumeId: bad, VolumePath: target})
			return err
		}, codes.NotFound},
	}
}

func TestCreateVolumeIsIdempotentByNameAndHonoursItsArguments(t *testing.T) {
	ctx := context.Background()
	h := serve(t, t.TempDir(), testpool.Ext4)
	create := func(req *csi.CreateVolumeRequest) (*csi.Volume, error) {
		if req.VolumeCapabilities == nil {
			req.VolumeCapabilities = []*csi.VolumeCapability{drivertest.MountCapability}
		}
		resp, err := h.Controller.CreateVolume(ctx, req)
		return resp.GetVolume(), err
	}
	first, err := create(&csi.CreateVolumeRequest{Name: "pvc-1", CapacityRange: &csi.CapacityRange{RequiredBytes: 100 << 20}})
	if err != nil {
		t.Fatal(err)
	}
	xfs := &csi.VolumeCapability{
		AccessType: &csi.VolumeCapability_Mount{Mount: &csi.VolumeCapability_MountVolume{FsType: "xfs"}},
		AccessMode: drivertest.MountCapability.GetAccessMode(),
	}
	otherNode := &csi.TopologyRequirement{Requisite: []*csi.Topology{{Segments: map[string]string{driver.TopologyKeyNode: "node-b"}}}}
	thisNode := &csi.TopologyRequirement{Requisite: []*csi.Topology{{Segments: map[string]string{driver.TopologyKeyNode: drivertest.NodeID}}}}
	for name, tc := range map[string]struct {
		req       *csi.CreateVolumeRequest
		want      codes.Code
		wantBytes int64
	}{
		"same name and size returns the same volume":  {&csi.CreateVolumeRequest{Name: "pvc-1", CapacityRange: &csi.CapacityRange{RequiredBytes: 100 << 20}}, codes.OK, 100 << 20},
		"same name within a compatible range":         {&csi.CreateVolumeRequest{Name: "pvc-1", CapacityRange: &csi.CapacityRange{RequiredBytes: 50 << 20, LimitBytes: 200 << 20}}, codes.OK, 100 << 20},
		"same name and another size":                  {&csi.CreateVolumeRequest{Name: "pvc-1", CapacityRange: &csi.CapacityRange{RequiredBytes: 200 << 20}}, codes.AlreadyExists, 0},
		"size rounds up to whole MiB":                 {&csi.CreateVolumeRequest{Name: "pvc-2", CapacityRange: &csi.CapacityRange{RequiredBytes: 1}}, codes.OK, 1 << 20},
		"no size gives the default":                   {&csi.CreateVolumeRequest{Name: "pvc-3"}, codes.OK, 1 << 30},
		"xfs volumes are at least 300 MiB":            {&csi.CreateVolumeRequest{Name: "pvc-4", VolumeCapabilities: []*csi.VolumeCapability{xfs}, CapacityRange: &csi.CapacityRange{RequiredBytes: 1 << 20}}, codes.OK, 300 << 20},
		"limit below the xfs minimum is out of range": {&csi.CreateVolumeRequest{Name: "pvc-5", VolumeCapabilities: []*csi.VolumeCapability{xfs}, CapacityRange: &csi.CapacityRange{LimitBytes: 1 << 20}}, codes.OutOfRange, 0},
		"required above limit":                        {&csi.CreateVolumeRequest{Name: "pvc-6", CapacityRange: &csi.CapacityRange{RequiredBytes: 2 << 20, LimitBytes: 1 << 20}}, codes.InvalidArgument, 0},
		"requisite topology on another node":          {&csi.CreateVolumeRequest{Name: "pvc-7", AccessibilityRequirements: otherNode}, codes.ResourceExhausted, 0},
		"requisite topology on this node":             {&csi.CreateVolumeRequest{Name: "pvc-8", AccessibilityRequirements: thisNode}, codes.OK, 1 << 30},
		"more than the pool holds":                    {&csi.CreateVolumeRequest{Name: "pvc-9", CapacityRange: &csi.CapacityRange{RequiredBytes: 1 << 60}}, codes.ResourceExhausted, 0},
		"unknown parameter":                           {&csi.CreateVolumeRequest{Name: "pvc-10", Parameters: map[string]string{"speed": "fast"}}, codes.InvalidArgument, 0},
		"multi-node access":                           {&csi.CreateVolumeRequest{Name: "pvc-11", VolumeCapabilities: []*csi.VolumeCapability{{AccessType: drivertest.MountCapability.GetAccessType(), AccessMode: &csi.VolumeCapability_AccessMode{Mode: csi.VolumeCapability_AccessMode_MULTI_NODE_MULTI_WRITER}}}}, codes.InvalidArgument, 0},
		"unsupported filesystem":                      {&csi.CreateVolumeRequest{Name: "pvc-12", VolumeCapabilities: []*csi.VolumeCapability{{AccessType: &csi.VolumeCapability_Mount{Mount: &csi.VolumeCapability_MountVolume{FsType: "ntfs"}}, AccessMode: drivertest.MountCapability.GetAccessMode()}}}, codes.InvalidArgument, 0},
	} {
		t.Run(name, func(t *testing.T) {
			vol, err := create(proto.Clone(tc.req).(*csi.CreateVolumeRequest))
			if code(err) != tc.want {
				t.Fatalf("code = %v (%v), want %v", code(err), err, tc.want)
			}
			if err != nil {
				return
			}
			if vol.GetCapacityBytes() != tc.wantBytes {
				t.Errorf("capacity = %d, want %d", vol.GetCapacityBytes(), tc.wantBytes)
			}
			if tc.req.GetName() == "pvc-1" && vol.GetVolumeId() != first.GetVolumeId() {
				t.Errorf("volume ID = %s, want %s", vol.GetVolumeId(), first.GetVolumeId())
			}
		})
	}
}

// TestSnapshotTopologyIsTheNodes: a snapshot is cut only where a request's
// requisite topology contains the node (accessibility requirements are
// honoured even though the driver does not advertise them), and it reports
// no other topology than the node's.
func TestSnapshotTopologyIsTheNodes(t *testing.T) {
	ctx := context.Background()
	h := serve(t, t.TempDir(), testpool.Ext4)
	info, err := h.Node.NodeGetInfo(ctx, &csi.NodeGetInfoRequest{})
	if err != nil {
		t.Fatal(err)
	}
	vol, err := h.Controller.CreateVolume(ctx, &csi.CreateVolumeRequest{Name: "v", VolumeCapabilities: []*csi.VolumeCapability{drivertest.MountCapability}})
	if err != nil {
		t.Fatal(err)
	}
	for name, tc := range map[string]struct {
		requisite []*csi.Topology
		want      codes.Code
	}{
		"this node":    {[]*csi.Topology{info.GetAccessibleTopology()}, codes.OK},
		"another node": {[]*csi.Topology{{Segments: map[string]string{driver.TopologyKeyNode: "node-b"}}}, codes.ResourceExhausted},
	} {
		t.Run(name, func(t *testing.T) {
			snap, err := h.Controller.CreateSnapshot(ctx, &csi.CreateSnapshotRequest{
				Name: "s-" + name, SourceVolumeId: vol.GetVolume().GetVolumeId(),
				AccessibilityRequirements: &csi.TopologyRequirement{Requisite: tc.requisite},
			})
			if code(err) != tc.want {
				t.Fatalf("code = %v (%v), want %v", code(err), err, tc.want)
			}
			for _, topo := range snap.GetSnapshot().GetAccessibleTopology() {
				if !proto.Equal(topo, info.GetAccessibleTopology()) {
					t.Errorf("snapshot topology %v, node topology %v", topo, info.GetAccessibleTopology())
				}
			}
		})
	}
}

func TestNodeGetInfoReportsNodeAndZone(t *testing.T) {
	h := serve(t, t.TempDir(), testpool.Ext4)
	info, err := h.Node.NodeGetInfo(context.Background(), &csi.NodeGetInfoRequest{})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{driver.TopologyKeyNode: drivertest.NodeID, "topology.kubernetes.io/zone": "zone-1"}
	if got := info.GetAccessibleTopology().GetSegments(); len(got) != len(want) || got[driver.TopologyKeyNode] != drivertest.NodeID || got["topology.kubernetes.io/zone"] != "zone-1" {
		t.Errorf("topology = %v, want %v", got, want)
	}
}

// TestConcurrentCreatesOfOneNameMakeOneVolume races CreateVolume calls for
// the same name, as a provisioner retrying after a timeout would: each call
// returns the one volume or Aborted, and only one volume exists afterwards.
func TestConcurrentCreatesOfOneNameMakeOneVolume(t *testing.T) {
	ctx := context.Background()
	h := serve(t, t.TempDir(), testpool.Ext4)
	const callers = 8
	type result struct {
		id  string
		err error
	}
	results := make(chan result, callers)
	for range callers {
		go func() {
			resp, err := h.Controller.CreateVolume(ctx, &csi.CreateVolumeRequest{Name: "pvc-race", VolumeCapabilities: []*csi.VolumeCapability{drivertest.MountCapability}})
			results <- result{resp.GetVolume().GetVolumeId(), err}
		}()
	}
	seen := map[string]bool{}
	for range callers {
		r := <-results
		switch err := r.err; code(err) {
		case codes.OK:
			seen[r.id] = true
		case codes.Aborted:
		default:
			t.Errorf("CreateVolume: %v", err)
		}
	}
	list, err := h.Controller.ListVolumes(ctx, &csi.ListVolumesRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if len(seen) != 1 || len(list.GetEntries()) != 1 {
		t.Errorf("calls returned IDs %v and the pool holds %d volumes, want one", seen, len(list.GetEntries()))
	}
}

func TestGetCapacityIsZeroWhereTheDriverCannotProvision(t *testing.T) {
	h := serve(t, t.TempDir(), testpool.Ext4)
	multiNode := &csi.VolumeCapability{AccessType: drivertest.MountCapability.GetAccessType(),
		AccessMode: &csi.VolumeCapability_AccessMode{Mode: csi.VolumeCapability_AccessMode_MULTI_NODE_MULTI_WRITER}}
	for name, tc := range map[string]struct {
		req       *csi.GetCapacityRequest
		wantSpace bool
	}{
		"whole pool":             {&csi.GetCapacityRequest{}, true},
		"this node's topology":   {&csi.GetCapacityRequest{AccessibleTopology: &csi.Topology{Segments: map[string]string{driver.TopologyKeyNode: drivertest.NodeID}}}, true},
		"another node":           {&csi.GetCapacityRequest{AccessibleTopology: &csi.Topology{Segments: map[string]string{driver.TopologyKeyNode: "node-b"}}}, false},
		"unsupported capability": {&csi.GetCapacityRequest{VolumeCapabilities: []*csi.VolumeCapability{multiNode}}, false},
	} {
		t.Run(name, func(t *testing.T) {
			resp, err := h.Controller.GetCapacity(t.Context(), tc.req)
			if err != nil {
				t.Fatal(err)
			}
			if got := resp.GetAvailableCapacity() > 0; got != tc.wantSpace {
				t.Errorf("available capacity %d, want space=%v", resp.GetAvailableCapacity(), tc.wantSpace)
			}
		})
	}
}

func TestProbeFailsWhenThePoolIsGone(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "pool")
	h := serve(t, dir, testpool.Ext4)
	identity := csi.NewIdentityClient(h.Conn)
	if resp, err := identity.Probe(t.Context(), &csi.ProbeRequest{}); err != nil || !resp.GetReady().GetValue() {
		t.Fatalf("healthy pool: ready=%v err=%v", resp.GetReady().GetValue(), err)
	}
	if err := os.RemoveAll(filepath.Join(dir, "volumes")); err != nil {
		t.Fatal(err)
	}
	if _, err := identity.Probe(t.Context(), &csi.ProbeRequest{}); code(err) != codes.FailedPrecondition {
		t.Errorf("probe of a broken pool: code %v, want FailedPrecondition", code(err))
	}
}
