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

// Package atomicfile replaces files so that readers, and the file system
// after a crash, see either the old or the new content, never a mix. Content
// goes to a temporary file in the target's directory (named with TempPrefix,
// so that the directory's owner can sweep what a crash left), is fsynced and
// renamed into place, and the directory is fsynced; removals are made
// durable the same way.
//
// It is the one implementation of this for the whole module: the pool
// backend writes its volume and snapshot data and metadata with it, the IPAM
// store records allocations with it, and the node agent writes the conflist,
// the plugin binary and its state file with it, and creates the loopback
// plugin with it only where none exists.
package atomicfile
