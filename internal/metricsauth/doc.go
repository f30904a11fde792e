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

// Package metricsauth configures the metrics endpoints of Plinth's managers
// the way kubebuilder v4 scaffolds them: HTTPS, and every request
// authenticated with a TokenReview and authorized with a
// SubjectAccessReview for "get" on the request's path (a nonResourceURL),
// so that a scraper needs a token whose identity is bound to a role such as
// the chart's metrics-reader ClusterRole. Both processes run on the host
// network, where a plain endpoint would answer anyone who reaches the
// node.
//
// The identity of the process needs, in turn, to create tokenreviews and
// subjectaccessreviews: the RBAC markers of the callers say so.
//
// The health probes stay plain HTTP, since the kubelet's probes carry no
// credentials; they are bound to an address the caller chooses (the chart
// gives the pod IP, which is the node's address on the host network, where
// the kubelet probes them). BindAddress accepts such an address written as
// "$(POD_IP):port" for either IP family.
package metricsauth
