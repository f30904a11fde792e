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

// Package chart tests the Helm chart in charts/plinth: lint and rendering
// with every switch, the values schema against bad values, the rendered
// manifests validated by a real API server, a real install and uninstall,
// and the RBAC proof — plinth-controller and plinth-node run as host
// processes with the chart's ServiceAccounts' tokens through the storage
// scenarios, and any forbidden request fails the test.
package chart
