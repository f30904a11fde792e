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

// Package nodedeps holds what every reconciler of plinth-node works with:
// the manager's client, the node's CSI driver (its controller service, over
// the plugin's socket), the driver's name, the node's name and the event
// recorder.
//
// Each node reconciler (the provisioner and deleter, the snapshot content
// controller, the resizer, the capacity publisher and the StoragePool
// reconciler) embeds Deps, so they are built from one value and their
// fields read the same everywhere: r.Client, r.Controller, r.DriverName,
// r.NodeName, r.Recorder. What only one reconciler needs (the provisioner's
// API reader, the publisher's namespace, the number of workers) stays a
// field of that reconciler.
//
// The package is a leaf: it imports no reconciler, so every reconciler can
// import it without importing another.
package nodedeps
