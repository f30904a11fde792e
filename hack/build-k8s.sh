#!/usr/bin/env bash
# Builds the local cluster binaries (etcd, kube-apiserver,
# kube-controller-manager, kube-scheduler, kubelet, kubectl, kube-proxy) from
# the Go module proxy into bin/k8s/, stamped with real version strings.
#
# bin/k8s/VERSION records the pinned versions: a warm run costs nothing, a
# binary added to the list (or deleted) is built alone, and a version bump
# rebuilds them all (hack/lib.sh's cached_build).
#
# Usage: hack/build-k8s.sh [OUTPUT_DIR]   (default: bin/k8s)
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
log=build-k8s
# shellcheck source=hack/lib.sh
source "$root/hack/lib.sh"
# Absolute: the builds run in the wrapper module's directory.
out=$(realpath -m "${1:-$root/bin/k8s}")
wrapper=$root/hack/k8s

KUBERNETES_VERSION=$(pin KUBERNETES_VERSION)
ETCD_VERSION=$(pin ETCD_VERSION)
binaries=(etcd kube-apiserver kube-controller-manager kube-scheduler kubelet kubectl kube-proxy)
stamp="kubernetes=$KUBERNETES_VERSION etcd=$ETCD_VERSION $(go env GOVERSION) $(go env GOOS)/$(go env GOARCH)"

# sync_wrapper points the wrapper module at the pinned versions: it requires
# k8s.io/kubernetes and etcd, and replaces every staging module (which
# k8s.io/kubernetes maps to ./staging/src/...) with its published v0.Y.Z.
sync_wrapper() {
	local current
	current=$(awk '$1 == "k8s.io/kubernetes" && $2 ~ /^v/ {print $2}' "$wrapper/go.mod")
	[[ $current == "$KUBERNETES_VERSION" ]] && return 0
	echo "$log: pointing hack/k8s/go.mod at kubernetes $KUBERNETES_VERSION, etcd $ETCD_VERSION"
	local staging="v0.${KUBERNETES_VERSION#v1.}" modfile m
	modfile=$(cd "$wrapper" && GOFLAGS=-mod=mod go mod download -json "k8s.io/kubernetes@$KUBERNETES_VERSION" | sed -n 's/.*"GoMod": "\(.*\)",/\1/p')
	(
		cd "$wrapper"
		go mod edit -dropreplace=k8s.io/kubernetes -require="k8s.io/kubernetes@$KUBERNETES_VERSION" -require="go.etcd.io/etcd/server/v3@$ETCD_VERSION"
		for m in $(sed -n 's/^\t\(k8s.io\/[a-z-]*\) => \.\/staging.*/\1/p' "$modfile"); do
			[[ $m == k8s.io/sample-* ]] && continue # examples, never published
			go mod edit -replace="$m=$m@$staging"
		done
		go mod tidy
	)
}

# build DIR NAME...: builds the named binaries into DIR, one at a time.
build() {
	local dir=$1 ldflags pkg b
	shift
	sync_wrapper
	ldflags=$(k8s_ldflags "$KUBERNETES_VERSION")
	for b in "$@"; do
		if [[ $b == etcd ]]; then pkg=./cmd/etcd; else pkg=k8s.io/kubernetes/cmd/$b; fi
		echo "$log: building $b"
		(cd "$wrapper" && CGO_ENABLED=0 go build -trimpath -ldflags "$ldflags" -o "$dir/$b" "$pkg")
	done
}

cached_build "$out" "$stamp" build "${binaries[@]}"
