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

// Package prereq lets a test state what it needs from the machine (root, a
// command on PATH, the control-plane binaries) before it runs.
//
// A developer running `go test ./...` without those prerequisites sees the
// test skipped with the reason. Under CI (the CI environment variable set to
// "true") a missing prerequisite is a failure: CI installs everything through
// the repository's own scripts, so a skip there would hide a broken setup.
package prereq
