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

// Package scale measures how the cost of one plinth-node and of
// plinth-controller grows with the cluster (issue #15): both run as their
// real binaries against a control plane holding 1,000 Nodes and a growing
// population of claims, PVs and snapshot contents on other nodes, each
// behind a counting proxy that tells the API requests it makes and the
// watch events and bytes it receives. BenchmarkNodeScale reports, per
// population, the resident memory and Go heap after the caches synced, and
// the watch events, bytes, API requests and CPU time during a burst of
// objects on other nodes. Run it with `make bench` or
//
//	go test -run '^$' -bench NodeScale -benchtime 1x ./test/scale/
//
// PLINTH_SCALE_OBJECTS (comma-separated, default 1000,5000,20000) sets the
// populations.
package scale
