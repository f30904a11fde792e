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

// Package upstream runs part of the upstream Kubernetes e2e suites against
// Plinth: TestUpstreamSubset is the part of `make test-upstream` that fits
// CI's budget, hack/test-upstream.sh ci: the External Storage suites for
// testdriver.yaml without their [Slow] specs, and the pod network's
// "Networking Granular Checks" for Pods and Services, each on a fresh local
// cluster of 2 real nodes with Plinth's chart (about 15 minutes on 2 cores).
// The [Slow] storage specs and the NetworkPolicy suites (netpol, about 14
// minutes on 2 cores by itself) run only in `make test-upstream`.
//
// It needs root and what `make test-upstream` builds: bin/e2e
// (`make e2e-bins`), the upstream test images (`make upstream-images`) and
// the local cluster's binaries and images (`make e2e-deps`).
package upstream
