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
