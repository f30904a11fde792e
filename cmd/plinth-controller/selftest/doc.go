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

// Package selftest is `plinth-controller selftest`, the check the Helm
// chart runs as its `helm test` hook: it provisions a claim of a
// StorageClass, mounts it in a consumer pod, snapshots it and waits until the
// snapshot is ready to use, then deletes everything it created. It proves
// that the driver, the node's provisioner and snapshot controllers and the
// common snapshot controller work together in the installed cluster.
//
// It runs with the namespaced rights of its +kubebuilder:rbac markers only:
// it creates its objects in its own namespace and reads nothing else.
package selftest
