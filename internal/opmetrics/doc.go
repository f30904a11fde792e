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

// Package opmetrics holds the Prometheus metrics of Plinth's storage
// operations, registered with controller-runtime's registry so that every
// manager serves them on its metrics endpoint next to the reconciler
// metrics controller-runtime already exports:
//
//   - plinth_storage_operation_duration_seconds{operation,result}: the time
//     one driver operation (provision, delete, snapshot, delete_snapshot,
//     expand) took, including its API writes;
//   - plinth_storage_operations_in_flight{operation}: operations running now;
//   - plinth_storage_ready_latency_seconds{object}: the time from a claim's
//     creation until its PV was created, and from a snapshot content's
//     creation until its snapshot was cut: the latency users see.
package opmetrics
