#!/usr/bin/env bash
# Builds the upstream CSI sidecars that test/e2e's side-by-side storage
# benchmarks run against Plinth's own CSI driver, from the Go module proxy
# into bin/upstream/:
#
#   csi-provisioner      github.com/kubernetes-csi/external-provisioner at
#                        EXTERNAL_PROVISIONER_VERSION (hack/versions.mk)
#   csi-snapshotter      github.com/kubernetes-csi/external-snapshotter at
#   snapshot-controller  EXTERNAL_SNAPSHOTTER_VERSION
#
# Each release is built in its own wrapper module (hack/upstream-sidecars/
# provisioner and snapshotter): the two releases replace the k8s.io modules
# with different versions, and a module's replace directives only hold in
# the main module, so each wrapper copies those of its release's go.mod.
# external-snapshotter replaces its client with ./client, a directory of its
# repository; the wrapper uses the published client/v8 of the same release
# instead. The binaries are static (CGO_ENABLED=0) and stamped with their
# version (main.version, as the releases' Makefiles do).
#
# bin/upstream/VERSION records the versions (hack/lib.sh's cached_build): a
# warm run costs nothing, a version bump rebuilds everything.
#
# Usage: hack/build-upstream-sidecars.sh [OUTPUT_DIR]   (default: bin/upstream)
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
log=build-upstream-sidecars
# shellcheck source=hack/lib.sh
source "$root/hack/lib.sh"
out=$(realpath -m "${1:-$root/bin/upstream}")
wrappers=$root/hack/upstream-sidecars

EXTERNAL_PROVISIONER_VERSION=$(pin EXTERNAL_PROVISIONER_VERSION)
EXTERNAL_SNAPSHOTTER_VERSION=$(pin EXTERNAL_SNAPSHOTTER_VERSION)
binaries=(csi-provisioner csi-snapshotter snapshot-controller)
stamp="external-provisioner=$EXTERNAL_PROVISIONER_VERSION external-snapshotter=$EXTERNAL_SNAPSHOTTER_VERSION $(go env GOVERSION) $(go env GOOS)/$(go env GOARCH)"

# module_path REPO VERSION: the module path of a release (/vN from v2 on).
module_path() {
	local major=${2#v}
	major=${major%%.*}
	if ((major >= 2)); then echo "$1/v$major"; else echo "$1"; fi
}

# replaces GOMOD CLIENT: the replace directives of a go.mod, one
# "old=new@version" a line, with the local ./client replaced by CLIENT.
replaces() {
	awk '
		$1 == "replace" && $2 == "(" { block = 1; next }
		block && $1 == ")" { block = 0; next }
		$1 == "replace" { sub(/^replace[ \t]+/, ""); print; next }
		block && NF { print }
	' "$1" | while read -r -a f; do
		# "old [oldversion] => new [version]"
		local old=${f[0]} new version
		if [[ ${f[1]} == "=>" ]]; then new=${f[2]} version=${f[3]:-}; else old+="@${f[1]}" new=${f[3]} version=${f[4]:-}; fi
		if [[ $new == ./client ]]; then
			echo "$old=$2"
		elif [[ $new == ./* || $new == ../* ]]; then
			echo "$log: $1 replaces $old with the directory $new, which the wrapper cannot have" >&2
			return 1
		else
			echo "$old=$new${version:+@$version}"
		fi
	done
}

# sync_wrapper DIR MODULE VERSION: points the wrapper module DIR at MODULE
# VERSION with the replace directives of that release's go.mod.
sync_wrapper() {
	local dir=$1 module=$2 version=$3 current modfile r client
	current=$(awk -v m="$module" '$1 == m && $2 ~ /^v/ {print $2}' "$dir/go.mod")
	[[ $current == "$version" ]] && return 0
	echo "$log: pointing ${dir#"$root"/}/go.mod at $module $version"
	modfile=$(cd "$dir" && GOFLAGS=-mod=mod go mod download -json "$module@$version" | sed -n 's/.*"GoMod": "\(.*\)",/\1/p')
	client="$(module_path github.com/kubernetes-csi/external-snapshotter/client "$version")@$version"
	(
		cd "$dir"
		for r in $(go mod edit -json | sed -n 's/.*"Old": {"Path": "\([^"]*\)".*/\1/p'); do
			go mod edit -dropreplace="$r"
		done
		go mod edit -require="$module@$version"
		for r in $(replaces "$modfile" "$client"); do
			go mod edit -replace="$r"
		done
		go mod tidy
	)
}

# build DIR NAME...: builds the named binaries into DIR, one at a time.
build() {
	local dir=$1 b wrapper module version pkg
	shift
	for b in "$@"; do
		case $b in
		csi-provisioner)
			wrapper=$wrappers/provisioner version=$EXTERNAL_PROVISIONER_VERSION
			module=$(module_path github.com/kubernetes-csi/external-provisioner "$version") ;;
		csi-snapshotter | snapshot-controller)
			wrapper=$wrappers/snapshotter version=$EXTERNAL_SNAPSHOTTER_VERSION
			module=$(module_path github.com/kubernetes-csi/external-snapshotter "$version") ;;
		*) echo "$log: unknown binary $b" >&2; exit 1 ;;
		esac
		sync_wrapper "$wrapper" "$module" "$version"
		pkg=$module/cmd/$b
		echo "$log: building $b"
		(cd "$wrapper" && CGO_ENABLED=0 go build -trimpath -ldflags "-s -w -X main.version=$version" -o "$dir/$b" "$pkg")
	done
}

cached_build "$out" "$stamp" build "${binaries[@]}"
