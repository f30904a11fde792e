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

// Package drivertest serves the real CSI driver on a unix socket for tests
// and drives volumes through it as kubelet and the external controllers do:
// create, stage, publish, snapshot, expand, and undo it all when the test
// ends. It also holds the data helpers the tests share: writing a known
// pattern, fsynced, and checking it back.
//
// It is the common ground of the driver's own tests and of the public
// conformance kit, csi-driver/backend/backendtest, which runs its checks
// through it against any backend. Nothing here depends on a particular
// backend: what a failed test leaves attached is found and detached through
// the backend.Backend interface.
package drivertest
