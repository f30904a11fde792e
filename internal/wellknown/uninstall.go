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

package wellknown

// Uninstall handshake between the chart's pre-delete hook
// (`plinth-controller uninstall`) and every plinth-node.
const (
	// UninstallAnnotation on the plinth-node DaemonSet asks every node to
	// remove what Plinth installed on it; its value is the request time.
	UninstallAnnotation = "plinth.dev/uninstall-requested"
	// NodeCleanedAnnotation on a plinth-node pod says its node is clean;
	// its value is the time the cleanup finished.
	NodeCleanedAnnotation = "plinth.dev/node-cleaned"
)
