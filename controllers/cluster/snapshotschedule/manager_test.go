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

package snapshotschedule

import (
	"context"
	"testing"
	"time"

	snapshotv1 "github.com/kubernetes-csi/external-snapshotter/client/v8/apis/volumesnapshot/v1"
	eventsv1 "k8s.io/api/events/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	clocktesting "k8s.io/utils/clock/testing"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"
)

// TestManagerRunsAndFollowsSnapshots wires the controller as
// plinth-controller does: the first run happens on its own, Events reach the
// API server, and deleting a snapshot refreshes the schedule's count through
// the snapshot watch.
func TestManagerRunsAndFollowsSnapshots(t *testing.T) {
	f := newFixture(t)
	f.claim("db-0", map[string]string{"app": "db"}, true)
	first := f.schedule("hourly", nil)

	mgr, err := ctrl.NewManager(startAPIServer(t), ctrl.Options{
		Scheme:  testScheme(t),
		Metrics: metricsserver.Options{BindAddress: "0"},
	})
	f.must(err)
	f.must((&Reconciler{Clock: clocktesting.NewFakeClock(first.Add(time.Minute))}).SetupWithManager(mgr))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- mgr.Start(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("manager: %v", err)
		}
	})

	eventually(t, 30*time.Second, "the first run", func(ctx context.Context) (bool, error) {
		return len(f.snapshots()) == 1 && f.get("hourly").Status.Snapshots == 1, nil
	})
	eventually(t, 30*time.Second, "the SnapshotsCreated Event", func(ctx context.Context) (bool, error) {
		list := &eventsv1.EventList{}
		err := f.c.List(ctx, list, client.InNamespace(f.ns))
		for _, e := range list.Items {
			if e.Reason == reasonSnapshotsCreated && e.Regarding.Name == "hourly" {
				return true, nil
			}
		}
		return false, err
	})

	snap := &snapshotv1.VolumeSnapshot{}
	f.must(f.c.Get(context.Background(), client.ObjectKey{Namespace: f.ns, Name: snapshotName("hourly", "db-0", first)}, snap))
	f.must(f.c.Delete(context.Background(), snap))
	eventually(t, 30*time.Second, "the count to follow the deletion", func(ctx context.Context) (bool, error) {
		st := f.get("hourly").Status
		return st.Snapshots == 0 && st.LastRunTime != nil && st.LastRunTime.Equal(&metav1.Time{Time: first}), nil
	})
	if n := len(f.snapshots()); n != 0 {
		t.Errorf("the deleted snapshot of the recorded run was taken again: %d snapshots", n)
	}
}
