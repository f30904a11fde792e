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

package plugin

import (
	"testing"

	"github.com/plinth-dev/plinth/cni-plugin/ipam"
)

func TestPodOfReadsTheRuntimesArgs(t *testing.T) {
	full := ipam.Pod{Namespace: "ns", Name: "web-0", UID: "6f1c"}
	tests := []struct {
		name string
		args string
		want ipam.Pod
	}{
		{"containerd", "IgnoreUnknown=1;K8S_POD_NAMESPACE=ns;K8S_POD_NAME=web-0;K8S_POD_INFRA_CONTAINER_ID=abc;K8S_POD_UID=6f1c", full},
		{"unknown keys without IgnoreUnknown", "K8S_POD_NAMESPACE=ns;K8S_POD_NAME=web-0;K8S_POD_UID=6f1c;OTHER=1", full},
		{"no UID (older runtimes)", "IgnoreUnknown=1;K8S_POD_NAMESPACE=ns;K8S_POD_NAME=web-0", ipam.Pod{Namespace: "ns", Name: "web-0"}},
		{"none", "", ipam.Pod{}},
		{"unparsable", "K8S_POD_NAME", ipam.Pod{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := (&Plugin{}).podOf(tt.args); got != tt.want {
				t.Errorf("podOf(%q) = %+v, want %+v", tt.args, got, tt.want)
			}
		})
	}
}
