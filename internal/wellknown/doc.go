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

// Package wellknown holds the names that are Plinth's contract between its
// own components and with its users: annotations, labels and finalizers
// that one binary writes and another reads. It has no dependencies, so any
// package may import it without importing another's code. Names that
// Kubernetes or the CSI sidecars define come from their own packages
// (k8s.io/component-helpers/storage/volume and the snapshot client).
package wellknown
