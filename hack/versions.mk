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
# go-containerregistry (the image builder, `make images`) is pinned in
# hack/images/go.mod, its own module.
