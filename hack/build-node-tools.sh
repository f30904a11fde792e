#!/usr/bin/env bash
# Builds the binaries that a real node runs besides the kubelet (which
# hack/build-k8s.sh builds) from the Go module proxy into bin/node/:
#
#   containerd, containerd-shim-runc-v2, ctr
#       at CONTAINERD_VERSION (hack/versions.mk): static (CGO_ENABLED=0),
#       without the btrfs, devmapper and zfs snapshotters, the version stamped
#       so that `containerd --version` prints it. The shim must be on
#       containerd's PATH.
#   loopback
#       the CNI reference plugin that containerd runs for every pod sandbox,
#       at the github.com/containernetworking/plugins version of the main
#       go.mod (the same one the plinth-node image carries).
#
# runc comes from Debian (hack/install-deps.sh). bin/node/VERSION records the
# versions, as bin/k8s/VERSION does (hack/lib.sh's cached_build).
#
# Usage: hack/build-node-tools.sh [OUTPUT_DIR]   (default: bin/node)
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
log=build-node-tools
# shellcheck source=hack/lib.sh
source "$root/hack/lib.sh"
out=$(realpath -m "${1:-$root/bin/node}")

containerd_module=github.com/containerd/containerd/v2
containerd_tags="no_btrfs no_devmapper no_zfs"
cni_module=github.com/containernetworking/plugins

CONTAINERD_VERSION=$(pin CONTAINERD_VERSION)
CNI_PLUGINS_VERSION=$(cd "$root" && go list -m -f '{{.Version}}' "$cni_module")
binaries=(containerd containerd-shim-runc-v2 ctr loopback)
stamp="containerd=$CONTAINERD_VERSION cni-plugins=$CNI_PLUGINS_VERSION tags=${containerd_tags// /,}"
stamp+=" $(go env GOVERSION) $(go env GOOS)/$(go env GOARCH)"

# build DIR NAME...: builds the named binaries into DIR.
build() {
	local dir=$1 b
	shift
	local cmds=()
	for b in "$@"; do
		case $b in
		loopback) build_loopback "$dir" ;;
		*) cmds+=("$containerd_module/cmd/$b@$CONTAINERD_VERSION") ;;
		esac
	done
	((${#cmds[@]} == 0)) || build_containerd "$dir" "${cmds[@]}"
}

# build_containerd DIR PKG@VERSION...: one `go install` for the containerd
# commands, outside any module, with containerd's own version stamps.
build_containerd() {
	local dir=$1
	shift
	local v=$containerd_module/version
	echo "$log: building ${*##*/}"
	(cd "$dir" && GOBIN=$dir CGO_ENABLED=0 go install -trimpath -tags "$containerd_tags" \
		-ldflags "-s -w -X $v.Version=$CONTAINERD_VERSION -X $v.Package=$containerd_module" "$@")
}

# build_loopback DIR: builds the plugin from the main module, so that its
# go.mod picks the version; buildversion is what `loopback` prints.
build_loopback() {
	local dir=$1
	echo "$log: building loopback $CNI_PLUGINS_VERSION"
	(cd "$root" && CGO_ENABLED=0 go build -trimpath \
		-ldflags "-s -w -X $cni_module/pkg/utils/buildversion.BuildVersion=$CNI_PLUGINS_VERSION" \
		-o "$dir/loopback" "$cni_module/plugins/main/loopback")
}

cached_build "$out" "$stamp" build "${binaries[@]}"
