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

package e2e

import (
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/plinth-dev/plinth/test/controlplane"
	"github.com/plinth-dev/plinth/test/prereq"
	"github.com/plinth-dev/plinth/test/storagenode"
)

// The upstream controller layer that the side-by-side benchmarks run on
// Plinth's CSI driver, as distributed provisioning of local storage is
// deployed: per node csi-provisioner --node-deployment and csi-snapshotter
// --node-deployment beside the driver, and one snapshot-controller with
// distributed snapshotting. Every other flag keeps its default; among them
// the client limits (--kube-api-qps=5, --kube-api-burst=10 for each), the
// worker counts (csi-provisioner --worker-threads=100,
// --cloning-protection-threads=1; csi-snapshotter and snapshot-controller
// --worker-threads=10), --timeout, the retry intervals and
// csi-provisioner's capacity poll interval (1m).
var (
	// provisionerFlags are what --node-deployment and capacity tracking
	// need: CSIStorageCapacity objects per node (the CSIDriver has
	// storageCapacity: true), without an owner (the processes run in no
	// pod). NODE_NAME and NAMESPACE go in the environment.
	provisionerFlags = []string{"--node-deployment", "--enable-capacity", "--capacity-ownerref-level=-1"}
	// snapshotterFlags: the node's sidecar handles the contents the
	// snapshot-controller labelled with its node.
	snapshotterFlags = []string{"--node-deployment"}
	// snapshotControllerFlags: distributed snapshotting labels each content
	// with the node of its volume. No VolumeGroupSnapshot CRDs are
	// installed, so the group snapshot feature is off; without the flag
	// the controller waits 30s for the CRDs, then turns it off itself.
	snapshotControllerFlags = []string{"--enable-distributed-snapshotting", "--feature-gates=CSIVolumeGroupSnapshot=false"}
)

// upstreamBinDir is where hack/build-upstream-sidecars.sh put the sidecars:
// $PLINTH_UPSTREAM_BIN, else <repo>/bin/upstream.
func upstreamBinDir(t testing.TB) string {
	t.Helper()
	dir := os.Getenv("PLINTH_UPSTREAM_BIN")
	if dir == "" {
		root, err := controlplane.RepoRoot()
		if err != nil {
			t.Fatal(err)
		}
		dir = filepath.Join(root, "bin", "upstream")
	}
	for _, name := range []string{"csi-provisioner", "csi-snapshotter", "snapshot-controller"} {
		_, err := os.Stat(filepath.Join(dir, name))
		prereq.Require(t, err == nil, "upstream sidecars (make upstream-sidecars): %v", err)
	}
	return dir
}

// startSidecars runs the upstream controller layer against the storage
// nodes' drivers, as the cluster's administrator.
func (sc *storageCluster) startSidecars(t testing.TB) {
	t.Helper()
	dir := upstreamBinDir(t)
	kubeconfig := "--kubeconfig=" + sc.cp.KubeconfigPath
	for _, name := range slices.Sorted(maps.Keys(sc.nodes)) {
		socket := "--csi-address=" + strings.TrimPrefix(sc.nodes[name].Endpoint, "unix://")
		env := []string{"NODE_NAME=" + name, "NAMESPACE=" + storagenode.Namespace}
		sc.runSidecar(t, dir, "csi-provisioner", name, append([]string{kubeconfig, socket}, provisionerFlags...), env)
		sc.runSidecar(t, dir, "csi-snapshotter", name, append([]string{kubeconfig, socket}, snapshotterFlags...), env)
	}
	sc.runSidecar(t, dir, "snapshot-controller", "", append([]string{kubeconfig}, snapshotControllerFlags...), nil)
	t.Logf("upstream sidecars from %s, per node: csi-provisioner %s, csi-snapshotter %s; snapshot-controller %s",
		dir, strings.Join(provisionerFlags, " "), strings.Join(snapshotterFlags, " "), strings.Join(snapshotControllerFlags, " "))
}

// runSidecar starts one sidecar, named after its node if it has one.
func (sc *storageCluster) runSidecar(t testing.TB, dir, binary, node string, args, env []string) {
	t.Helper()
	name := binary
	if node != "" {
		name += "-" + node
	}
	if err := sc.cp.RunProcess(name, filepath.Join(dir, binary), args, env); err != nil {
		t.Fatal(err)
	}
}
