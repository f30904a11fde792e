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

// Package plugin implements the plinth-cni verbs of CNI spec 1.1.0 (ADD,
// DEL, CHECK, STATUS, GC; VERSION comes from skel) for every older spec
// version too.
//
// The data path is routed per pod: ADD creates a veth pair whose pod end
// (eth0 by default) gets a /32 and/or /128 address from the node's pod CIDRs
// and whose host end carries a host route to that address. The pod's default
// route points at a link-local next hop (169.254.1.1 and fe80::1) that is
// resolved by a permanent neighbour entry to the host end's MAC address, and
// the host resolves the pod address the same way, so no ARP, NDP or proxy
// ARP is involved and no address is spent on a gateway. The host end's name
// is derived from the attachment (container ID, ifname), which lets DEL and
// GC find it without the pod's network namespace; its alias names the
// network ("plinth-cni/<network>"), so that GC of one plinth-cni network
// never removes another's veths. ADD refuses, before it changes anything,
// a CNI_NETNS that is the plugin's own network namespace (code 4). ADD records the pod that
// CNI_ARGS names (K8S_POD_NAMESPACE, K8S_POD_NAME, K8S_POD_UID) with the
// reservation, for the node agent's sweep of attachments nobody deleted.
//
// Errors are returned as *types.Error with the code the spec assigns, and
// skel prints them as CNI error JSON; logs go to the plugin's logger only,
// never to stdout, which is reserved for results.
package plugin
