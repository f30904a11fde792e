// Package k8s is a wrapper module that builds the local cluster binaries
// (etcd, kube-apiserver, kube-controller-manager, kube-scheduler, kubelet,
// kubectl, kube-proxy) from the Go module proxy. It is kept out of the main
// module: k8s.io/kubernetes is not meant to be imported, and only works with
// every staging module replaced by its published k8s.io/<module> release.
package k8s
