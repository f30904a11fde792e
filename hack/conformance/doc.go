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

// Command conformance summarizes the JUnit report of the upstream Kubernetes
// e2e suites (the junit_01.xml that e2e.test writes into its -report-dir)
// for docs/conformance.md: passed, failed and skipped specs per suite, the
// reason of every skip, the failures, and the command that produced the
// report. hack/test-upstream.sh runs it after each run of
// `make test-upstream`.
//
// Specs that the run's focus left out are in the report as skipped without
// a reason; they count as not selected, not as skipped. A spec skipped at
// run time (the suites' own checks of the test driver's capabilities, or
// of the cluster) carries its reason, which the summary lists.
//
// Usage:
//
//	go run ./hack/conformance -junit DIR/junit_01.xml -command '...' -out docs/conformance.md
//
// It exits non-zero when the report has a failure.
package main
