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

// Package csiconn connects Plinth's controllers to a CSI driver over its
// unix socket, exactly as the upstream sidecars do, and classifies the
// driver's errors the way the sidecar contract requires: an error is final
// (the operation did not happen and will not by retrying the same request)
// or in progress (the driver may still be working: retry, and never forget
// what may exist).
package csiconn
