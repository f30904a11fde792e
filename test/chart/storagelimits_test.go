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

package chart_test

import (
	"testing"

	appsv1 "k8s.io/api/apps/v1"
)

// TestNodeStorageLimitsAreConservative: by default the chart passes
// plinth-node no over-provisioning, a reserve that keeps the root
// filesystem above the kubelet's eviction threshold, small limits on
// inline ephemeral volumes, and its kubelet directory, so that node calls
// are confined to it; each follows its value.
func TestNodeStorageLimitsAreConservative(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
		want []string
	}{
		{"defaults", nil, []string{
			"--over-provision-ratio=1", "--pool-reserve=2Gi", "--pool-reserve-percent=15", "--host-root=/host/proc/1/root", "--kubelet-dir=/var/lib/kubelet",
			"--ephemeral-max-volume-size=1Gi", "--ephemeral-max-total-size=4Gi", "--allowed-mount-options=",
		}},
		{"set", []string{"--set", "node.kubeletDir=/data/kubelet,node.poolReserve.percent=0,node.allowedMountOptions={errors=panic,suid}",
			"--set-string", "node.poolReserve.size=0,node.ephemeral.maxVolumeSize=0,node.ephemeral.maxTotalSize=10Gi"}, []string{
			"--pool-reserve=0", "--pool-reserve-percent=0", "--kubelet-dir=/data/kubelet",
			"--ephemeral-max-volume-size=0", "--ephemeral-max-total-size=10Gi", "--allowed-mount-options=errors=panic,suid",
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var ds appsv1.DaemonSet
			renderChart(t, tc.args...).decode(t, "DaemonSet", renderFullname+"-node", &ds)
			node := renderContainer(t, ds.Spec.Template.Spec.Containers, "plinth-node")
			renderWantArgs(t, "plinth-node", node.Args, tc.want...)
		})
	}
}
