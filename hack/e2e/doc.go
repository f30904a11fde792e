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

// Package e2e is a wrapper module that builds the upstream Kubernetes
// end-to-end suites from the Go module proxy: the e2e.test binary
// (k8s.io/kubernetes/test/e2e), the agnhost test server that its pods run
// (k8s.io/kubernetes/test/images/agnhost) and the ginkgo CLI at the version
// that the suites' library requires, for parallel runs. hack/build-e2e.sh
// builds them into bin/e2e/.
//
// It is kept apart from hack/k8s, which builds the cluster's own binaries,
// so that the test code's dependencies never change those binaries, and from
// the main module: k8s.io/kubernetes is not meant to be imported, and only
// works with every staging module (sample-apiserver included, which the
// apimachinery suite imports) replaced by its published k8s.io/<module>
// release.
package e2e
