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

// Package objpatch builds the patches Plinth's controllers write objects
// with. A claim or volume is written by several controllers at once
// (kube-controller-manager binds it while Plinth drops its finalizer), so a
// read-modify-write of the whole object under its resourceVersion turns
// every concurrent write into a conflict and a retry. The patches here say
// only what they change and guard only what they depend on.
package objpatch
