#!/usr/bin/env bash
# Builds the local control-plane binaries (etcd, kube-apiserver,
# kube-controller-manager, kube-scheduler, kubelet, kubectl) from the Go module
# proxy into bin/k8s/, stamped with real version strings.
#
# The build is skipped when bin/k8s/VERSION already records the pinned
# versions and every binary is present, so a warm run costs nothing.
#
# Usage: hack/build-k8s.sh [OUTPUT_DIR]   (default: bin/k8s)
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
out=${1:-$root/bin/k8s}
wrapper=$root/hack/k8s

pin() { # pin NAME: the value of NAME from the environment or hack/versions.mk
	local v=${!1:-}
	[[ -n $v ]] || v=$(sed -n "s/^$1 *?= *//p" "$root/hack/versions.mk")
	[[ -n $v ]] || { echo "build-k8s: $1 is not set in hack/versions.mk" >&2; exit 1; }
	echo "$v"
}

KUBERNETES_VERSION=$(pin KUBERNETES_VERSION)
ETCD_VERSION=$(pin ETCD_VERSION)
binaries=(etcd kube-apiserver kube-controller-manager kube-scheduler kubelet kubectl)
stamp="kubernetes=$KUBERNETES_VERSION etcd=$ETCD_VERSION $(go env GOVERSION) $(go env GOOS)/$(go env GOARCH)"

up_to_date() {
	[[ -f $out/VERSION && "$(cat "$out/VERSION")" == "$stamp" ]] || return 1
	local b
	for b in "${binaries[@]}"; do [[ -x $out/$b ]] || return 1; done
}

# sync_wrapper points the wrapper module at the pinned versions: it requires
# k8s.io/kubernetes and etcd, and replaces every staging module (which
# k8s.io/kubernetes maps to ./staging/src/...) with its published v0.Y.Z.
sync_wrapper() {
	local current
	current=$(awk '$1 == "k8s.io/kubernetes" && $2 ~ /^v/ {print $2}' "$wrapper/go.mod")
	[[ $current == "$KUBERNETES_VERSION" ]] && return 0
	echo "build-k8s: pointing hack/k8s/go.mod at kubernetes $KUBERNETES_VERSION, etcd $ETCD_VERSION"
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

build() {
	local major minor ldflags pkg b
	major=${KUBERNETES_VERSION#v}; major=${major%%.*}
	minor=${KUBERNETES_VERSION#v*.}; minor=${minor%%.*}
	local vpkg=k8s.io/component-base/version
	ldflags="-s -w -X $vpkg.gitVersion=$KUBERNETES_VERSION -X $vpkg.gitMajor=$major -X $vpkg.gitMinor=$minor"
	ldflags+=" -X $vpkg.gitTreeState=clean -X $vpkg.gitCommit=0000000000000000000000000000000000000000"
	ldflags+=" -X $vpkg.buildDate=1970-01-01T00:00:00Z"
	local tmp="$out.tmp"
	rm -rf "$tmp" && mkdir -p "$tmp"
	for b in "${binaries[@]}"; do
		if [[ $b == etcd ]]; then pkg=./cmd/etcd; else pkg=k8s.io/kubernetes/cmd/$b; fi
		echo "build-k8s: building $b"
		(cd "$wrapper" && CGO_ENABLED=0 go build -trimpath -ldflags "$ldflags" -o "$tmp/$b" "$pkg")
	done
	echo "$stamp" >"$tmp/VERSION"
	rm -rf "$out" && mv "$tmp" "$out"
}

if up_to_date; then
	echo "build-k8s: $out is up to date ($stamp)"
	exit 0
fi
start=$(date +%s)
sync_wrapper
build
echo "build-k8s: built ${binaries[*]} into $out in $(($(date +%s) - start))s"
