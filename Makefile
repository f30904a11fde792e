# Plinth: storage and network layers for Kubernetes.
# `make help` lists the targets. Every tool version is pinned in hack/versions.mk.

include hack/versions.mk

SHELL := /usr/bin/env bash -o pipefail
.SHELLFLAGS := -ec
.DEFAULT_GOAL := help

ROOT := $(shell pwd)
LOCALBIN ?= $(ROOT)/bin
K8S_BIN ?= $(LOCALBIN)/k8s
NODE_BIN ?= $(LOCALBIN)/node
export KUBEBUILDER_ASSETS ?= $(K8S_BIN)

GO ?= go
GOTEST_FLAGS ?= -count=1 -timeout=45m
# Packages whose tests start a control plane or need root run one package at a
# time so that two control planes never compete for the machine's two cores.
GOTEST_PARALLEL ?= 1
BENCH_FLAGS ?= -run='^$$' -bench=. -benchmem -count=1 -timeout=60m

CONTROLLER_GEN ?= $(LOCALBIN)/controller-gen-$(CONTROLLER_TOOLS_VERSION)
GOLANGCI_LINT ?= $(LOCALBIN)/golangci-lint-$(GOLANGCI_LINT_VERSION)
HELM ?= $(LOCALBIN)/helm-$(HELM_VERSION)
KUSTOMIZE ?= $(LOCALBIN)/kustomize-$(KUSTOMIZE_VERSION)

# The directories that hold generated code or manifests, checked by `verify`.
GENERATED_PATHS := apis config charts

RUN_DIR ?= $(LOCALBIN)/run
RUN_NODES ?= 2
# PLINTH=false leaves the nodes without Plinth (install it yourself, as the
# README's quick start does); RUN_VALUES are extra helm arguments, e.g.
# RUN_VALUES="--set storageClass.fsType=xfs".
PLINTH ?= true
RUN_VALUES ?=

##@ General

.PHONY: help
help: ## Show this help.
	@awk 'BEGIN {FS = ":.*##"; printf "\nUsage:\n  make \033[36m<target>\033[0m\n"} /^[a-zA-Z_0-9-]+:.*?##/ { printf "  \033[36m%-18s\033[0m %s\n", $$1, $$2 } /^##@/ { printf "\n\033[1m%s\033[0m\n", substr($$0, 5) } ' $(MAKEFILE_LIST)

##@ Development

.PHONY: manifests
manifests: controller-gen helm ## Generate CRDs, per-component RBAC and the kustomize bases into config/ and the chart.
	CONTROLLER_GEN=$(CONTROLLER_GEN) HELM=$(HELM) GO=$(GO) hack/manifests.sh

.PHONY: generate
generate: controller-gen ## Generate DeepCopy methods for the API types.
	@if [ -d apis ] && [ -n "$$(find apis -name '*.go' -print -quit)" ]; then \
		$(CONTROLLER_GEN) object:headerFile="hack/boilerplate.go.txt" paths="./apis/..."; \
	fi

.PHONY: verify
verify: generate manifests ## Fail when generated code or manifests are out of date, or a Go file lacks the licence header.
	hack/verify-headers.sh
	@changes=$$(git status --porcelain -- $(GENERATED_PATHS) go.mod go.sum); \
	if [ -n "$$changes" ]; then \
		echo "generated files are out of date; run 'make generate manifests' and commit:"; \
		echo "$$changes"; git --no-pager diff --stat -- $(GENERATED_PATHS); exit 1; \
	fi

.PHONY: fmt
fmt: ## Run gofmt on the code.
	$(GO) fmt ./...

.PHONY: vet
vet: ## Run go vet on the code.
	$(GO) vet ./...

.PHONY: lint
lint: golangci-lint ## Run golangci-lint (config in .golangci.yml).
	$(GOLANGCI_LINT) run --allow-serial-runners ./...

.PHONY: tidy
tidy: ## Run go mod tidy.
	$(GO) mod tidy

##@ Test

.PHONY: test
test: deps k8s-bins e2e-deps e2e-bins upstream-images helm kustomize csi-sanity verify vet lint test-go test-images ## Everything CI runs: generated-code check, vet, lint, unit, node, control-plane, chart, real-node end-to-end, upstream e2e subset and image tests.

.PHONY: test-go
test-go: helm kustomize csi-sanity ## Run the Go tests only (unit, node and control-plane tests).
	$(GO) test $(GOTEST_FLAGS) -p $(GOTEST_PARALLEL) ./...

# The real-node end-to-end suites (test/e2e/realnodes, test/localcluster):
# Plinth's chart with its defaults on kubelet + containerd nodes, real pods.
E2E_PACKAGES ?= ./test/localcluster/ ./test/e2e/realnodes/

.PHONY: test-e2e
test-e2e: deps k8s-bins e2e-deps helm kustomize ## Run the real-node end-to-end tests only (root).
	$(GO) test $(GOTEST_FLAGS) -p 1 -v $(E2E_PACKAGES)

# The upstream Kubernetes e2e suites against Plinth (hack/test-upstream.sh):
# e2e.test through ginkgo with test/e2e/upstream/testdriver.yaml, each set
# of suites on a fresh local cluster (2 real nodes, the chart with its
# defaults). UPSTREAM_SET=full (storage, storage-slow, network and netpol:
# the External Storage suites, Networking Granular Checks for Pods and
# Services, the NetworkPolicy suites) writes the counts per suite to
# docs/conformance.md; other sets, such as ci (storage without [Slow]
# specs, and network: what `make test` runs, in TestUpstreamSubset), write
# them to $(UPSTREAM_DIR)/conformance.md. The JUnit reports stay in
# $(UPSTREAM_DIR).
UPSTREAM_DIR ?= $(LOCALBIN)/e2e-upstream
UPSTREAM_SET ?= full
UPSTREAM_PROCS ?= 3

.PHONY: test-upstream
test-upstream: deps k8s-bins e2e-deps helm e2e-bins upstream-images ## Run the upstream Kubernetes e2e suites (storage, pod network, NetworkPolicy) against Plinth; summary in docs/conformance.md (root).
	UPSTREAM_DIR=$(UPSTREAM_DIR) UPSTREAM_PROCS=$(UPSTREAM_PROCS) HELM=$(HELM) \
		hack/test-upstream.sh $(UPSTREAM_SET)

.PHONY: e2e-deps
e2e-deps: node-tools images e2e-images ## Build what real nodes run: containerd, the images, the nodes' init.
	$(GO) build -o $(LOCALBIN)/pause ./test/images/pause

# The storage benchmarks of test/e2e run every burst at both settings of
# kube-controller-manager and kube-scheduler (their defaults, and QPS 1000 /
# burst 2000) and for each controller layer (Plinth, the upstream sidecars,
# static PVs); PLINTH_BENCH_SETTINGS=defaults,tuned and
# PLINTH_BENCH_STACKS=plinth,upstream,static,static-prebound narrow them.
.PHONY: bench
bench: deps k8s-bins e2e-deps helm upstream-sidecars ## Run the benchmarks; record results in docs/benchmarks.md.
	$(GO) test $(BENCH_FLAGS) -p 1 ./... | tee $(LOCALBIN)/bench.txt

##@ Build

.PHONY: build
build: ## Build the plinth binaries into bin/.
	@mkdir -p $(LOCALBIN)
	$(GO) build -o $(LOCALBIN)/ ./cmd/...

.PHONY: run
run: deps k8s-bins e2e-deps helm ## Start a local cluster (2 real nodes) with the chart installed; Ctrl-C stops it (root).
	$(GO) build -o $(LOCALBIN)/plinth-devcluster ./test/cmd/plinth-devcluster
	exec $(LOCALBIN)/plinth-devcluster --dir $(RUN_DIR) --nodes $(RUN_NODES) --plinth=$(PLINTH) \
		--bin-dir $(LOCALBIN) --helm $(HELM) --chart charts/plinth $(RUN_VALUES)

# The stock csi-sanity command that test/sanity runs with its defaults: the
# csi-test version of go.mod, which hack/versions.mk repeats.
CSI_SANITY ?= $(LOCALBIN)/csi-sanity-$(CSI_SANITY_VERSION)

.PHONY: csi-sanity
csi-sanity: $(CSI_SANITY) ## Build the stock csi-sanity command into bin/.
$(CSI_SANITY):
	@required=$$($(GO) list -m -f '{{.Version}}' github.com/kubernetes-csi/csi-test/v5); \
	if [ "$$required" != "$(CSI_SANITY_VERSION)" ]; then \
		echo "go.mod requires csi-test $$required, hack/versions.mk pins CSI_SANITY_VERSION $(CSI_SANITY_VERSION)"; exit 1; \
	fi
	@mkdir -p $(LOCALBIN)
	$(GO) build -o $@ -ldflags "-X main.VERSION=$(CSI_SANITY_VERSION)" github.com/kubernetes-csi/csi-test/v5/cmd/csi-sanity

.PHONY: k8s-bins
k8s-bins: ## Build etcd and the Kubernetes components into bin/k8s (cached).
	hack/build-k8s.sh $(K8S_BIN)

.PHONY: upstream-sidecars
upstream-sidecars: ## Build csi-provisioner, csi-snapshotter and snapshot-controller into bin/upstream for the benchmarks (cached).
	hack/build-upstream-sidecars.sh $(LOCALBIN)/upstream

.PHONY: node-tools
node-tools: ## Build containerd, its runc shim, ctr and the loopback CNI plugin of real nodes into bin/node (cached).
	hack/build-node-tools.sh $(NODE_BIN)

.PHONY: deps
deps: ## Install the Debian packages the tests need (root only; no-op when present).
	hack/install-deps.sh

# Images are named $(IMAGE_REGISTRY)/plinth-{controller,node}:$(IMAGE_TAG); the
# tag is also the version stamped into the binaries. The defaults are what
# the chart deploys (image.registry, and its appVersion as the tag).
IMAGE_REGISTRY ?= ghcr.io/plinth-dev
IMAGE_TAG ?= $(shell sed -n 's/^appVersion: *"\{0,1\}\([^"]*\)"\{0,1\}$$/\1/p' charts/plinth/Chart.yaml)
IMAGES_DIR ?= $(LOCALBIN)/images

.PHONY: images
images: ## Build the controller and node image tarballs into bin/images/ (no container engine needed).
	@# The builder runs on this machine; the images are for `go env GOARCH`.
	cd hack/images && arch=$$($(GO) env GOARCH) && env -u GOOS -u GOARCH $(GO) run . -go $(GO) \
		-root $(ROOT) -out $(IMAGES_DIR) -arch $$arch -registry $(IMAGE_REGISTRY) -tag $(IMAGE_TAG) -version $(IMAGE_TAG)

# The test images keep the names that hack/versions.mk gives them
# (PAUSE_IMAGES, BUSYBOX_IMAGES); IMAGE_REGISTRY and IMAGE_TAG do not apply.
.PHONY: e2e-images
e2e-images: ## Build the test images of real nodes and e2e tests (pause, busybox) into bin/images/.
	cd hack/images && arch=$$($(GO) env GOARCH) && env -u GOOS -u GOARCH $(GO) run . -go $(GO) \
		-root $(ROOT) -out $(IMAGES_DIR) -arch $$arch -images pause,busybox

# The images of the upstream e2e suites, under the e2e framework's default
# names (hack/versions.mk: AGNHOST_IMAGES, E2E_SHELL_IMAGES). The nodes of
# the local cluster import every bin/images/*.tar, these too.
.PHONY: upstream-images
upstream-images: ## Build the images of the upstream e2e suites (agnhost, e2e-shell) into bin/images/.
	cd hack/images && arch=$$($(GO) env GOARCH) && env -u GOOS -u GOARCH $(GO) run . -go $(GO) \
		-root $(ROOT) -out $(IMAGES_DIR) -arch $$arch -images agnhost,e2e-shell

.PHONY: e2e-bins
e2e-bins: ## Build the upstream e2e suites (e2e.test, the ginkgo CLI, agnhost) into bin/e2e (cached).
	hack/build-e2e.sh $(LOCALBIN)/e2e

.PHONY: test-images
test-images: ## Run the image builder's tests (builds every image twice; the chroot checks need root).
	cd hack/images && $(GO) vet ./... && $(GO) test $(GOTEST_FLAGS) ./...

##@ Tools

.PHONY: controller-gen
controller-gen: $(CONTROLLER_GEN) ## Install controller-gen into bin/.
$(CONTROLLER_GEN):
	$(call go-install-tool,$(CONTROLLER_GEN),sigs.k8s.io/controller-tools/cmd/controller-gen,$(CONTROLLER_TOOLS_VERSION))

.PHONY: golangci-lint
golangci-lint: $(GOLANGCI_LINT) ## Install golangci-lint into bin/.
$(GOLANGCI_LINT):
	$(call go-install-tool,$(GOLANGCI_LINT),github.com/golangci/golangci-lint/v2/cmd/golangci-lint,$(GOLANGCI_LINT_VERSION))

.PHONY: helm
helm: $(HELM) ## Install helm into bin/.
$(HELM):
	$(call go-install-tool,$(HELM),helm.sh/helm/v3/cmd/helm,$(HELM_VERSION),$(HELM_LDFLAGS))

.PHONY: kustomize
kustomize: $(KUSTOMIZE) ## Install kustomize into bin/.
$(KUSTOMIZE):
	$(call go-install-tool,$(KUSTOMIZE),sigs.k8s.io/kustomize/kustomize/v5,$(KUSTOMIZE_VERSION))

# Helm's release builds stamp its version and the Kubernetes version it
# assumes offline (helm template, helm lint); `go install` alone leaves
# v1.20, so stamp the pinned cluster version the way helm's Makefile does.
HELM_K8S_MINOR := $(word 2,$(subst ., ,$(KUBERNETES_VERSION)))
HELM_LDFLAGS := -X helm.sh/helm/v3/internal/version.version=$(HELM_VERSION) \
	-X helm.sh/helm/v3/internal/version.metadata= \
	-X helm.sh/helm/v3/pkg/lint/rules.k8sVersionMajor=1 \
	-X helm.sh/helm/v3/pkg/lint/rules.k8sVersionMinor=$(HELM_K8S_MINOR) \
	-X helm.sh/helm/v3/pkg/chartutil.k8sVersionMajor=1 \
	-X helm.sh/helm/v3/pkg/chartutil.k8sVersionMinor=$(HELM_K8S_MINOR)

# go-install-tool installs package $(2) at version $(3) as $(1) (name-version),
# with a plain-name symlink beside it; $(4) are optional linker flags.
define go-install-tool
@[ -f "$(1)" ] || { \
	set -e; pkg=$(2)@$(3); echo "installing $${pkg}"; mkdir -p $(LOCALBIN); \
	GOBIN=$(LOCALBIN) $(GO) install -ldflags "$(4)" $${pkg}; \
	mv "$$(echo "$(1)" | sed "s/-$(3)$$//")" $(1); \
}; \
ln -sf "$$(basename $(1))" "$$(echo "$(1)" | sed "s/-$(3)$$//")"
endef
