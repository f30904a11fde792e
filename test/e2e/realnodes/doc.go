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

// Package realnodes holds Plinth's end-to-end tests on real nodes: the
// Helm chart installed with its defaults into a local cluster whose nodes
// run kubelet, containerd and kube-proxy (package localcluster), and real
// pods that write, snapshot, restore, clone, expand and read back their data
// on Plinth volumes and reach each other over Plinth's pod network.
//
// The tests share one cluster, started by the first test that needs it and
// stopped when the package's tests end; each scenario works in a namespace
// of its own. They need root and the binaries `make test-e2e` builds; under
// CI=true a missing prerequisite fails them.
package realnodes
