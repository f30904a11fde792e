// Package selftest is `plinth-controller selftest`, the check the Helm
// chart runs as its `helm test` hook: it provisions a claim of a
// StorageClass, mounts it in a consumer pod, snapshots it and waits until the
// snapshot is ready to use, then deletes everything it created. It proves
// that the driver, the node's provisioner and snapshot controllers and the
// common snapshot controller work together in the installed cluster.
//
// It runs with the namespaced rights of its +kubebuilder:rbac markers only:
// it creates its objects in its own namespace and reads nothing else.
package selftest
