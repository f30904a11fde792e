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
