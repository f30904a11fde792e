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

// Package nslabel is `plinth-controller label-namespace`, run by the Helm
// chart's pre-install and pre-upgrade hook: it sets labels, the Pod Security
// admission level above all, on the namespace Plinth is installed into.
// Helm's --create-namespace creates that namespace without labels, and a
// chart cannot own the namespace it is installed into, so a hook does it,
// with a role limited to that one namespace object.
//
// A privileged level applies to every pod of the namespace, so the hook
// refuses to set labels the namespace does not carry yet while pods of
// other releases (or of none) run there, unless the chart's
// namespace.allowPrivilegedLabelOnShared says so: Plinth belongs in a
// namespace of its own.
package nslabel
