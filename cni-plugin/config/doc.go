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

// Package config parses and validates the network configuration that the
// container runtime hands to plinth-cni on stdin.
//
// The configuration is one plugin entry of a conflist (usually
// 10-plinth.conflist, rendered by the node agent). Besides the standard CNI
// fields it names the node's pod CIDRs, the MTU of the pod interface and the
// directories the plugin keeps its state in. Parse rejects every invalid
// value with an error that names the offending JSON field, so that the
// runtime's CNI error (code 7, invalid network config) points the operator at
// the line to fix.
package config
