# Every pinned version of the project, in one place. The Makefile includes this
# file and hack/ scripts read it, so a version bump is a one-line change here.

# Go libraries of the main module are pinned in go.mod; these are the matching
# cluster binaries built by hack/build-k8s.sh into bin/k8s/.
KUBERNETES_VERSION ?= v1.36.3
# The etcd version that k8s.io/kubernetes $(KUBERNETES_VERSION) pins in its go.mod.
ETCD_VERSION ?= v3.6.8

# Tools installed into bin/ by the Makefile.
CONTROLLER_TOOLS_VERSION ?= v0.21.0
GOLANGCI_LINT_VERSION ?= v2.15.0
HELM_VERSION ?= v3.21.4
KUSTOMIZE_VERSION ?= v5.8.1
SETUP_ENVTEST_VERSION ?= release-0.24
# The stock csi-sanity command (`make csi-sanity`, run by test/sanity): the
# github.com/kubernetes-csi/csi-test/v5 version that go.mod requires for the
# in-process suite, repeated here; test/sanity fails when the two disagree.
CSI_SANITY_VERSION ?= v5.6.0
# go-containerregistry (the image builder, `make images`) is pinned in
# hack/images/go.mod, its own module.

# The binaries of a real node besides the kubelet, built by
# hack/build-node-tools.sh into bin/node/ (`make node-tools`): containerd,
# containerd-shim-runc-v2 and ctr at this containerd release. The loopback CNI
# plugin built there and put into the plinth-node image is the version of
# github.com/containernetworking/plugins that the main go.mod requires (not
# repeated here). runc is Debian's (hack/install-deps.sh).
CONTAINERD_VERSION ?= v2.4.2

# Test images that hack/images builds offline (`make e2e-images`), for real
# nodes and the e2e suites: each value lists the names that the one image
# gets. Kubernetes v1.36's e2e framework, kubeadm and containerd
# $(CONTAINERD_VERSION)'s default sandbox image all use pause:3.10.2; 3.10.1
# is kept for node configs that pin it. The busybox name is the e2e
# framework's default storage test image (test/utils/image/manifest.go); its
# content is Debian's busybox-static.
PAUSE_IMAGES ?= registry.k8s.io/pause:3.10.1 registry.k8s.io/pause:3.10.2
BUSYBOX_IMAGES ?= registry.k8s.io/e2e-test-images/busybox:1.37.0-1

# The upstream Kubernetes e2e suites of `make test-upstream`: e2e.test and
# the ginkgo CLI are built by hack/build-e2e.sh into bin/e2e/ at
# KUBERNETES_VERSION, from the wrapper module hack/e2e (ginkgo at the version
# that k8s.io/kubernetes requires, so no pin of its own). The images their
# pods run are built by hack/images (`make upstream-images`) under the e2e
# framework's default names (test/utils/image/manifest.go of
# k8s.io/kubernetes $(KUBERNETES_VERSION)): agnhost from that module's
# test/images/agnhost on Debian, also under the name of glibc-dns-testing
# (upstream a glibc image with GNU coreutils, whose dd the multiVolume
# suite's block-mode specs run with oflag=nocache, which busybox's dd
# lacks), and the busybox image again under the name of an image that the
# chosen suites only run a shell in (nginx in the volumes suite's exec test).
AGNHOST_IMAGES ?= registry.k8s.io/e2e-test-images/agnhost:2.63.0 registry.k8s.io/e2e-test-images/glibc-dns-testing:2.0.0
E2E_SHELL_IMAGES ?= registry.k8s.io/e2e-test-images/nginx:1.15-4

# The upstream CSI sidecars that the side-by-side storage benchmarks of
# test/e2e run against Plinth's own CSI driver (`make upstream-sidecars`),
# built by hack/build-upstream-sidecars.sh into bin/upstream/ from the
# wrapper modules hack/upstream-sidecars/{provisioner,snapshotter}, which
# copy the replace directives of each release's go.mod (external-snapshotter's
# ./client becomes the published client/v8 of the same version).
EXTERNAL_PROVISIONER_VERSION ?= v6.4.0
EXTERNAL_SNAPSHOTTER_VERSION ?= v8.7.0
