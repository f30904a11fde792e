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

// Package hostmount prepares the pool directory on the node itself, in the
// host's mount namespace, before the plinth-node container starts.
//
// plinth-node mounts the pool with Bidirectional propagation, so that what
// it mounts there outlives a restart of its container. Container runtimes
// accept that only for a host path on a shared mount; hosts booted by
// systemd make every mount shared, but others (and nodes in containers)
// keep "/" private, and the runtime then refuses to start the container:
// "path ... is mounted on "/" but it is not a shared mount".
//
// EnsureShared, run by the DaemonSet's init container (`plinth-node
// prepare-host`), enters the host's mount namespace through the host's
// /proc and makes the pool directory a shared mount: a bind mount of itself
// if it is not a mount point yet, then shared. A mount that is already
// shared is left alone, so the call is idempotent and changes nothing on
// systemd hosts.
//
// Joining another mount namespace from Go works on one locked OS thread that
// first stops sharing its filesystem attributes (unshare CLONE_FS) with the
// process's other threads; that thread is never returned to the runtime.
package hostmount
