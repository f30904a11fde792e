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

// Package plugin assembles the node plugin that plinth-node runs: the pool
// backend, the CSI driver on its unix socket, the kubelet registration socket
// and the metrics endpoint, all stopped together when the context ends.
//
// Given the node's topology (package topology), the registration socket is
// served once the topology is known and served anew after each change, so
// that the kubelet registers the driver again and updates the CSINode's
// topology keys and the Node's topology labels (see package registration
// for what the kubelet does then).
package plugin
