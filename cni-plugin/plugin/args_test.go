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

package plugin_test

import (
	"time"

	"github.com/containernetworking/cni/pkg/skel"
	"github.com/containernetworking/plugins/pkg/ns"

	"github.com/plinth-dev/plinth/cni-plugin/ipam"
)

const settleTimeout = 5 * time.Second

func deletedPodArgs(n *node, netnsPath string) *skel.CmdArgs {
	return &skel.CmdArgs{ContainerID: "gone", Netns: netnsPath, IfName: "eth0", StdinData: n.conf("1.1.0", nil)}
}

func addArgs(n *node, pod ns.NetNS, extra map[string]any) *skel.CmdArgs {
	return &skel.CmdArgs{ContainerID: "err", Netns: pod.Path(), IfName: "eth0", StdinData: n.conf("1.1.0", extra)}
}

func keyFor(cid string) ipam.Key {
	return ipam.Key{ContainerID: cid, IfName: "eth0"}
}
