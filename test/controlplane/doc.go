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

// Package controlplane starts a local Kubernetes control plane made of the
// real components: etcd and kube-apiserver (through controller-runtime's
// envtest), kube-controller-manager and kube-scheduler, each connected with
// its own identity and kubeconfig, plus any number of simulated Nodes.
//
// The binaries come from bin/k8s (built by hack/build-k8s.sh) or from the
// directory named by KUBEBUILDER_ASSETS. kube-controller-manager runs with
// node CIDR allocation, the PersistentVolume binder, the garbage collector and
// the node lifecycle controller on, and kube-scheduler with its default
// profile, so tests observe the same binding, scheduling and taint behaviour
// as a real cluster. A simulated Node is a Node object with labels,
// allocatable resources and a Ready condition kept fresh by a Lease
// heartbeat; it runs no kubelet, so pods scheduled to it stay Pending.
//
// Tests use StartForTest, which stops everything at the end of the test and,
// when the test failed, prints where each component's log went and its last
// lines. `make run` uses Start directly (cmd/plinth-devcluster).
package controlplane
