// Package app assembles plinth-controller, the cluster-wide, leader-elected
// half of Plinth: one controller-runtime manager with the scheme of every
// API the controllers use, leader election on a Lease in Plinth's
// namespace, health and readiness probes, and Prometheus metrics.
//
// The controllers come from a registry: a list of Controller entries, each
// a name, an enable flag (--enable-<name>) and a SetupFunc that registers
// the controller with the manager. Adding a controller is one line in the
// registry (controllers.go); Run sets up the enabled ones and starts the
// manager. Only the elected leader runs them; the probes and metrics serve
// on every replica.
package app
