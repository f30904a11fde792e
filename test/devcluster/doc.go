// Package devcluster runs the local development cluster behind `make run`:
// the control plane of package controlplane with simulated nodes spread over
// zones, an administrator kubeconfig at a fixed path, and a clean restart
// (stale processes of an earlier run that was killed are stopped first).
//
// It is the place where later components join the local cluster: Run starts
// the control plane, then each step of Config.Steps in order.
package devcluster
