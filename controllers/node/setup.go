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

package node

import (
	"fmt"
	"time"

	"github.com/container-storage-interface/spec/lib/go/csi"
	snapshotv1 "github.com/kubernetes-csi/external-snapshotter/client/v8/apis/volumesnapshot/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/runtime/schema"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/plinth-dev/plinth/controllers/node/capacity"
	"github.com/plinth-dev/plinth/controllers/node/expansion"
	"github.com/plinth-dev/plinth/controllers/node/nodedeps"
	"github.com/plinth-dev/plinth/controllers/node/orphans"
	"github.com/plinth-dev/plinth/controllers/node/provisioning"
	"github.com/plinth-dev/plinth/controllers/node/snapshotcontent"
	"github.com/plinth-dev/plinth/controllers/node/storagepool"
	"github.com/plinth-dev/plinth/csi-driver/backend/pool"
)

// Options are the settings of the node's reconcilers beyond the
// dependencies they share.
type Options struct {
	// Workers is the number of objects each of the provisioner, deleter,
	// snapshot content reconciler and resizer handles in parallel; zero
	// means one.
	Workers int
	// Namespace is Plinth's namespace, home of the CSIStorageCapacity
	// objects.
	Namespace string
	// Topology is the node's accessible topology, which the provisioner and
	// the capacity publisher follow.
	Topology capacity.Topology
	// Resync is the period of the capacity and StoragePool refreshes, which
	// catch changes outside the API; zero means one minute.
	Resync time.Duration
	// Pool is the node's pool, which its StoragePool describes; nil for a
	// node given another backend, which has no pool to describe.
	Pool *Pool
	// Orphans configures the orphan sweep; nil leaves it out.
	Orphans *Orphans
	// LedgerPath is the file that keeps the volumes the provisioner gave up
	// deleting, which the orphan sweep deletes (orphans.Ledger); empty keeps
	// them in memory, where a restart forgets them.
	LedgerPath string
}

// Orphans configures the node's orphan sweep (package
// controllers/node/orphans).
type Orphans struct {
	// Node is the driver's node service, which unpublishes orphaned inline
	// volumes.
	Node csi.NodeClient
	// Reader lists the node's pods from the API server.
	Reader client.Reader
	// KubeletDir is the kubelet's root directory, whose pods directory
	// shows the inline volumes kubelet published; empty skips them.
	KubeletDir string
	// Interval and Grace are the sweep's period and the time a volume
	// must stay unreferenced; zero means the package's defaults.
	Interval, Grace time.Duration
}

// Pool is the node's pool backend as its StoragePool describes it.
type Pool struct {
	// Identity is the driver's identity service, whose Probe gives the
	// pool's Ready condition.
	Identity csi.IdentityClient
	// Dir is the pool directory. Its filesystem is read from there rather
	// than through the plugin's pool, which opening again would rebuild.
	Dir string
	// OverProvisionRatio is the pool's over-provisioning ratio; zero means 1.
	OverProvisionRatio float64
}

// reconciler is a node reconciler, as the node wires it.
type reconciler interface {
	SetupWithManager(mgr ctrl.Manager) error
}

// SetupWithManager registers the node's reconcilers with mgr: the
// provisioner and the deleter, the orphan sweep, the snapshot content
// reconciler, the resizer, the StoragePool reconciler of a pool backend and
// the capacity publisher. Where the snapshot.storage.k8s.io CRDs are not served, the
// snapshot content reconciler and the snapshot watches are left out.
func SetupWithManager(mgr ctrl.Manager, deps nodedeps.Deps, opts Options) error {
	snapshots, err := snapshotAPIInstalled(mgr.GetRESTMapper())
	if err != nil {
		return err
	}
	ledger, err := orphans.OpenLedger(opts.LedgerPath)
	if err != nil {
		return err
	}
	for _, r := range reconcilers(mgr, deps, opts, snapshots, ledger) {
		if err := r.SetupWithManager(mgr); err != nil {
			return err
		}
	}
	return nil
}

// reconcilers builds the node's reconcilers, in the order they are set up.
func reconcilers(mgr ctrl.Manager, deps nodedeps.Deps, opts Options, snapshots bool, ledger *orphans.Ledger) []reconciler {
	rs := []reconciler{
		&provisioning.Provisioner{
			Deps: deps, Reader: mgr.GetAPIReader(), Topology: opts.Topology,
			Workers: opts.Workers, WatchSnapshots: snapshots, Abandoned: ledger,
		},
		&provisioning.Deleter{Deps: deps, Workers: opts.Workers},
	}
	if o := opts.Orphans; o != nil {
		rs = append(rs, &orphans.Sweeper{
			Deps: deps, Reader: o.Reader, Node: o.Node, KubeletDir: o.KubeletDir,
			Interval: o.Interval, Grace: o.Grace, Ledger: ledger,
		})
	}
	if snapshots {
		rs = append(rs, &snapshotcontent.Reconciler{Deps: deps, Workers: opts.Workers})
	}
	rs = append(rs, &expansion.Resizer{Deps: deps, Workers: opts.Workers})
	if opts.Pool != nil {
		rs = append(rs, storagePool(deps, opts, snapshots))
	}
	return append(rs, &capacity.Publisher{
		Deps: deps, Namespace: opts.Namespace, Topology: opts.Topology,
		Resync: opts.Resync, WatchSnapshots: snapshots,
	})
}

// storagePool builds the StoragePool reconciler of the node's pool.
// Available space is the figure the capacity publisher publishes, so it
// shares its resync period.
func storagePool(deps nodedeps.Deps, opts Options, snapshots bool) *storagepool.Reconciler {
	dir := opts.Pool.Dir
	return &storagepool.Reconciler{
		Deps: deps, Identity: opts.Pool.Identity,
		Path: dir, OverProvisionRatio: opts.Pool.OverProvisionRatio,
		PoolInfo: func() (pool.Info, error) { return pool.ReadInfo(dir) },
		Resync:   opts.Resync, WatchSnapshots: snapshots,
	}
}

// snapshotAPIInstalled reports whether the snapshot.storage.k8s.io CRDs are
// served; without them the snapshot watches are left out.
func snapshotAPIInstalled(mapper meta.RESTMapper) (bool, error) {
	_, err := mapper.RESTMapping(schema.GroupKind{Group: snapshotv1.GroupName, Kind: "VolumeSnapshot"}, snapshotv1.SchemeGroupVersion.Version)
	if meta.IsNoMatchError(err) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("failed to look up the snapshot API: %w", err)
	}
	return true, nil
}
