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
