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

// Package backendtest is the conformance kit for storage backends: one call
// checks a backend.Backend through the real Plinth CSI driver, served on a
// unix socket, the way Kubernetes will use it.
//
//	func TestConformance(t *testing.T) {
//		backendtest.Run(t, func(t *testing.T) backend.Backend {
//			return newEmptyBackend(t) // fresh, empty; released with t.Cleanup
//		})
//	}
//
// Run runs two groups of checks for every backend it is given:
//
//   - sanity: the csi-sanity suite (github.com/kubernetes-csi/csi-test) for
//     filesystem volumes and for block volumes, each against a driver of its
//     own. A spec is skipped only for a capability the driver does not
//     advertise; the suite logs the pass, skip and fail counts and the reason
//     of every skip.
//   - data: what a user's data must survive. Data written into a mounted
//     volume is intact in a restore of its snapshot and in a clone, a
//     snapshot of a mounted volume holds writes that were never fsynced (the
//     backend must quiesce the filesystem), and online and offline expansion
//     grow the filesystem and keep its data.
//
// The checks stage and mount volumes, so they need root and the filesystem
// tools the driver runs (mount, blkid, mkfs, e2fsck and resize2fs or
// xfs_growfs); without them the test is skipped, or fails when the CI
// environment variable is "true" (see test/prereq).
//
// csi-sanity runs on Ginkgo, which runs one suite per process: pass further
// backends, or the same backend with volumes in another filesystem, with the
// With option, so that one suite covers them all. A second run in the same
// process (a second test calling Run, or go test -count=N) runs its suite in
// a new process of the test binary, so it is never skipped.
package backendtest
