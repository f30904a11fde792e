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

// Package localcluster runs a Kubernetes cluster of real nodes on this
// machine, for `make run` and the end-to-end tests: etcd, kube-apiserver,
// kube-controller-manager and kube-scheduler in a network namespace of their
// own, and per node a kubelet, containerd (with runc) and kube-proxy in
// network, mount, PID and UTS namespaces of their own.
//
// The nodes' network is a bridge in the control plane's namespace with a
// veth to each node, so pod traffic between nodes crosses a real link (and
// Plinth's host-gw or VXLAN path), and nothing of the machine's own network
// changes; the harness, kubectl and helm reach the API server through a
// proxy on a loopback port. Each node's init (PID 1 of its PID namespace)
// mounts the node's own copies of the kubelet's, containerd's and the CNI's
// directories over the machine's, a sysfs of its network namespace with the
// cgroup hierarchies again, and optionally an XFS image as its pool; each
// node keeps to a cgroup root of its own, since the kubelet kills processes
// it does not own in its cgroups. Killing the init kills the whole node.
//
// Everything is recorded with package reaper before it is made, so that
// Stop, the reaper's watchdog (should the process die) or the next start
// removes it: processes, mounts, loop devices, namespaces, cgroups and
// directories.
package localcluster
