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
	"github.com/containernetworking/cni/pkg/types"

	"github.com/plinth-dev/plinth/cni-plugin/ipam"
)

// k8sArgs are the CNI_ARGS that Kubernetes runtimes (containerd, CRI-O)
// pass about the pod being attached.
type k8sArgs struct {
	types.CommonArgs
	K8S_POD_NAMESPACE types.UnmarshallableString //nolint:revive // named by the runtime
	K8S_POD_NAME      types.UnmarshallableString //nolint:revive // named by the runtime
	K8S_POD_UID       types.UnmarshallableString //nolint:revive // named by the runtime
}

// podOf returns the pod named by CNI_ARGS. The arguments are optional in
// the spec, so anything unparsable yields an unknown pod rather than a
// failed ADD; other keys are ignored whatever IgnoreUnknown says.
func (p *Plugin) podOf(cniArgs string) ipam.Pod {
	args := k8sArgs{CommonArgs: types.CommonArgs{IgnoreUnknown: true}}
	if err := types.LoadArgs(cniArgs, &args); err != nil {
		p.Log.Info("ignoring unparsable CNI_ARGS", "error", err.Error())
		return ipam.Pod{}
	}
	return ipam.Pod{
		Namespace: string(args.K8S_POD_NAMESPACE),
		Name:      string(args.K8S_POD_NAME),
		UID:       string(args.K8S_POD_UID),
	}
}
