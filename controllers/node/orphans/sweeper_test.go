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

package orphans

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/container-storage-interface/spec/lib/go/csi"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"google.golang.org/grpc"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/events"
	clocktesting "k8s.io/utils/clock/testing"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"

	"github.com/plinth-dev/plinth/controllers/node/nodedeps"
	"github.com/plinth-dev/plinth/csi-driver/backend"
	"github.com/plinth-dev/plinth/internal/wellknown"
)

// fakeDriver is the driver's controller and node services over a set of
// volume IDs.
type fakeDriver struct {
	csi.ControllerClient
	csi.NodeClient
	volumes     []string
	unpublished []string
}

func (d *fakeDriver) ListVolumes(context.Context, *csi.ListVolumesRequest, ...grpc.CallOption) (*csi.ListVolumesResponse, error) {
	resp := &csi.ListVolumesResponse{}
	for _, id := range d.volumes {
		resp.Entries = append(resp.Entries, &csi.ListVolumesResponse_Entry{Volume: &csi.Volume{VolumeId: id}})
	}
	return resp, nil
}

func (d *fakeDriver) DeleteVolume(_ context.Context, req *csi.DeleteVolumeRequest, _ ...grpc.CallOption) (*csi.DeleteVolumeResponse, error) {
	d.volumes = slices.DeleteFunc(d.volumes, func(id string) bool { return id == req.GetVolumeId() })
	return &csi.DeleteVolumeResponse{}, nil
}

func (d *fakeDriver) NodeUnpublishVolume(_ context.Context, req *csi.NodeUnpublishVolumeRequest, _ ...grpc.CallOption) (*csi.NodeUnpublishVolumeResponse, error) {
	d.unpublished = append(d.unpublished, req.GetVolumeId()+"@"+req.GetTargetPath())
	return &csi.NodeUnpublishVolumeResponse{}, nil
}

const node = "node-1"

type sweepFixture struct {
	s      *Sweeper
	driver *fakeDriver
	clock  *clocktesting.FakeClock
	events *events.FakeRecorder
	dir    string
}

func newSweepFixture(t *testing.T, volumes []string, objs ...client.Object) *sweepFixture {
	t.Helper()
	c := fake.NewClientBuilder().WithObjects(objs...).
		WithIndex(&corev1.Pod{}, "spec.nodeName", func(o client.Object) []string { return []string{o.(*corev1.Pod).Spec.NodeName} }).
		Build()
	f := &sweepFixture{
		driver: &fakeDriver{volumes: volumes}, clock: clocktesting.NewFakeClock(time.Now()),
		events: events.NewFakeRecorder(100), dir: t.TempDir(),
	}
	f.s = &Sweeper{
		Deps:   nodedeps.Deps{Client: c, Controller: f.driver, DriverName: wellknown.DriverName, NodeName: node, Recorder: f.events},
		Reader: c, Node: f.driver, KubeletDir: f.dir, Ledger: &Ledger{}, Clock: f.clock,
	}
	return f
}

// sweepAt sweeps with the clock at the given time after the start.
func (f *sweepFixture) sweepAt(t *testing.T, after time.Duration, start time.Time) Report {
	t.Helper()
	f.clock.SetTime(start.Add(after))
	rep, err := f.s.Sweep(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return rep
}

func (f *sweepFixture) drain() []string {
	var out []string
	for len(f.events.Events) > 0 {
		out = append(out, <-f.events.Events)
	}
	return out
}

func volumeOfClaim(uid string) string {
	return string(backend.NewVolumeID(wellknown.VolumeName(uid)))
}

func TestSweepReportsOnlyUnreferencedVolumesPastTheGrace(t *testing.T) {
	pv := &corev1.PersistentVolume{
		ObjectMeta: metav1.ObjectMeta{Name: "pv"},
		Spec: corev1.PersistentVolumeSpec{PersistentVolumeSource: corev1.PersistentVolumeSource{
			CSI: &corev1.CSIPersistentVolumeSource{Driver: wellknown.DriverName, VolumeHandle: "vol-recorded"},
		}},
	}
	inFlight := &corev1.PersistentVolumeClaim{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "new", UID: "uid-new"}}
	// The owner of a claim can write its annotations: one naming an orphan
	// must not keep that orphan from the sweep.
	forged := &corev1.PersistentVolumeClaim{ObjectMeta: metav1.ObjectMeta{
		Namespace: "ns", Name: "forged", UID: "uid-forged", Annotations: map[string]string{wellknown.AnnVolumeID: "vol-leaked"},
	}}
	f := newSweepFixture(t, []string{"vol-recorded", volumeOfClaim("uid-new"), "vol-leaked"}, pv, inFlight, forged)
	start := f.clock.Now()

	if rep := f.sweepAt(t, 0, start); len(rep.Volumes) != 0 {
		t.Errorf("orphans %v reported before the grace period", rep.Volumes)
	}
	rep := f.sweepAt(t, DefaultGrace, start)
	if !slices.Equal(rep.Volumes, []string{"vol-leaked"}) {
		t.Errorf("orphans %v, want only vol-leaked (the others have a PV or a claim)", rep.Volumes)
	}
	if got := testutil.ToFloat64(orphaned.WithLabelValues(kindPersistent)); got != 1 {
		t.Errorf("plinth_orphaned_volumes{kind=persistent} = %v, want 1", got)
	}
	if len(rep.Deleted) != 0 || !slices.Contains(f.driver.volumes, "vol-leaked") {
		t.Errorf("the sweep deleted %v, a volume it cannot prove orphaned (it may be kept by the Retain policy)", rep.Deleted)
	}
	if evs := f.drain(); len(evs) != 1 || !strings.HasPrefix(evs[0], "Warning "+ReasonOrphanedVolume) || !strings.Contains(evs[0], "vol-leaked") {
		t.Errorf("events %q, want one OrphanedVolume warning naming vol-leaked", evs)
	}
	f.sweepAt(t, DefaultGrace+time.Minute, start)
	if evs := f.drain(); len(evs) != 0 {
		t.Errorf("an orphan was reported again: %q", evs)
	}
}

func TestSweepDeletesWhatTheProvisionerAbandoned(t *testing.T) {
	f := newSweepFixture(t, []string{"vol-abandoned", "vol-kept"})
	if err := f.s.Ledger.Add("vol-abandoned"); err != nil {
		t.Fatal(err)
	}
	start := f.clock.Now()
	if rep := f.sweepAt(t, 0, start); len(rep.Deleted) != 0 {
		t.Errorf("deleted %v before the grace period", rep.Deleted)
	}
	rep := f.sweepAt(t, DefaultGrace, start)
	if !slices.Equal(rep.Deleted, []string{"vol-abandoned"}) || !slices.Equal(f.driver.volumes, []string{"vol-kept"}) {
		t.Errorf("deleted %v, volumes left %v; want vol-abandoned deleted and vol-kept kept", rep.Deleted, f.driver.volumes)
	}
}

// publishInline writes kubelet's record of an inline volume of pod uid.
func (f *sweepFixture) publishInline(t *testing.T, uid, volume, driver string) string {
	t.Helper()
	dir := filepath.Join(f.dir, "pods", uid, csiVolumesDir, volume)
	if err := os.MkdirAll(filepath.Join(dir, "mount"), 0o750); err != nil {
		t.Fatal(err)
	}
	data, _ := json.Marshal(map[string]string{
		"driverName": driver, "volumeHandle": "csi-" + uid, "volumeLifecycleMode": "Ephemeral", "specVolID": volume,
	})
	if err := os.WriteFile(filepath.Join(dir, "vol_data.json"), data, 0o600); err != nil {
		t.Fatal(err)
	}
	return filepath.Join(dir, "mount")
}

func TestSweepUnpublishesInlineVolumesOfPodsGoneFromTheNode(t *testing.T) {
	running := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "running", UID: types.UID("uid-running")},
		Spec:       corev1.PodSpec{NodeName: node},
	}
	elsewhere := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "elsewhere", UID: types.UID("uid-elsewhere")},
		Spec:       corev1.PodSpec{NodeName: "node-2"},
	}
	f := newSweepFixture(t, nil, running, elsewhere)
	f.publishInline(t, "uid-running", "scratch", wellknown.DriverName)
	gone := f.publishInline(t, "uid-gone", "scratch", wellknown.DriverName)
	moved := f.publishInline(t, "uid-elsewhere", "scratch", wellknown.DriverName)
	f.publishInline(t, "uid-other-driver", "scratch", "other.csi.example.com")
	start := f.clock.Now()

	if rep := f.sweepAt(t, time.Minute, start); len(rep.Deleted) != 0 {
		t.Errorf("unpublished %v before the grace period", rep.Deleted)
	}
	rep := f.sweepAt(t, DefaultGrace+time.Minute, start)
	want := []string{"csi-uid-elsewhere@" + moved, "csi-uid-gone@" + gone}
	slices.Sort(f.driver.unpublished)
	if !slices.Equal(f.driver.unpublished, want) {
		t.Errorf("unpublished %v, want %v (not the running pod's, not another driver's)", f.driver.unpublished, want)
	}
	if len(rep.Inline) != 2 {
		t.Errorf("inline orphans %v, want 2", rep.Inline)
	}
	if evs := f.drain(); !slices.ContainsFunc(evs, func(e string) bool {
		return strings.Contains(e, ReasonOrphanedVolume+" ") && strings.Contains(e, "uid-gone")
	}) {
		t.Errorf("events %q, want an OrphanedVolume warning for the pod that is gone", evs)
	}
}

// TestAbandonedVolumesAreDeletedAfterARestart: the provisioner's record
// survives plinth-node's restart, so the sweep of the new process (its
// grace period started afresh) still deletes the volume, and then forgets
// it.
func TestAbandonedVolumesAreDeletedAfterARestart(t *testing.T) {
	path := filepath.Join(t.TempDir(), "plugin", LedgerFile)
	before, err := OpenLedger(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := before.Add("vol-abandoned"); err != nil {
		t.Fatal(err)
	}

	f := newSweepFixture(t, []string{"vol-abandoned", "vol-kept"})
	if f.s.Ledger, err = OpenLedger(path); err != nil {
		t.Fatal(err)
	}
	start := f.clock.Now()
	f.sweepAt(t, 0, start)
	rep := f.sweepAt(t, DefaultGrace, start)
	if !slices.Equal(rep.Deleted, []string{"vol-abandoned"}) || !slices.Equal(f.driver.volumes, []string{"vol-kept"}) {
		t.Errorf("after a restart: deleted %v, volumes left %v; want vol-abandoned deleted and vol-kept kept", rep.Deleted, f.driver.volumes)
	}
	after, err := OpenLedger(path)
	if err != nil {
		t.Fatal(err)
	}
	if after.Has("vol-abandoned") {
		t.Error("the deleted volume is still in the ledger's file")
	}
}
