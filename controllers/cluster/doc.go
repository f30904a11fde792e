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

// Package cluster is plinth-controller's room: the controllers that run
// once per cluster, on the elected leader, and never touch a node's pool:
//
//   - nodeipam: allocates the Nodes' pod CIDRs from the ClusterNetwork;
//   - nodepicker: selects the node of claims of Immediate classes;
//   - nodegone: releases the finalizers of nodes that no longer exist;
//   - snapshot: the common snapshot controller (upstream's
//     snapshot-controller);
//   - snapshotschedule: takes and prunes scheduled snapshots.
//
// Each is a package with a reconciler struct that carries its dependencies
// and registers itself with SetupWithManager(mgr), and a ControllerName
// constant. This package is their registry: one Controller entry per
// package, named after that constant, which gives the entry its
// --enable-<name> flag and, through hack/manifests.sh, its own RBAC role
// plinth-controller-<name>, so that a disabled controller is granted
// nothing. The entry's Setup builds the reconcilers from the manager (its
// client and an event recorder), as kubebuilder's main.go does.
//
// cmd/plinth-controller/app builds the manager and calls SetupWithManager
// with the entries the flags left enabled. The controllers never import
// one another: the names they share are in internal/wellknown.
package cluster
