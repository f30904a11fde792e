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

// Package sanity runs the stock csi-sanity command of kubernetes-csi/csi-test,
// the binary a reviewer would download and run, with its default options
// against Plinth's node plugin, as plinth-node serves it, on a real
// loop-backed pool: the IDs it makes up, its 10 GiB volumes and its paths
// are not tuned to the driver. The suite tuned to the driver runs in process
// in csi-driver/backend/backendtest.
//
// The binary is bin/csi-sanity-<version>, built by `make csi-sanity` from the
// csi-test module at the version go.mod requires, which hack/versions.mk
// repeats as CSI_SANITY_VERSION; the test builds it the same way when it is
// missing.
package sanity
