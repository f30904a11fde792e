// Package e2e holds the end-to-end suites: the real control plane of package
// controlplane (kube-apiserver, kube-controller-manager, kube-scheduler),
// simulated nodes, and the Plinth components running on them with real
// pools and sockets. Each suite reads as the scenario a user would try.
package e2e
