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

// Package devcluster is `make run`: a local cluster of real nodes (package
// localcluster: etcd, kube-apiserver, kube-controller-manager,
// kube-scheduler, and kubelet + containerd + kube-proxy nodes in namespaces
// of their own) with Plinth's Helm chart installed into it the way a user
// installs it, images imported into the nodes as a registry pull would.
// It runs until interrupted and then removes everything it made.
//
// The chart test and the real-node end-to-end suites install the chart
// through InstallChart too, so there is one installation path.
package devcluster
