#!/usr/bin/env bash
# Builds the upstream Kubernetes end-to-end suites from the Go module proxy
# into bin/e2e/, for `make test-upstream`:
#
#   e2e.test  k8s.io/kubernetes/test/e2e at KUBERNETES_VERSION (hack/versions.mk),
#             `go test -c`, static (CGO_ENABLED=0), -s -w, stamped with the
#             Kubernetes version (unstamped, it reports v0.0.0-master)
#   ginkgo    the ginkgo CLI at the version that k8s.io/kubernetes requires
#             (a parallel run needs exactly the library's version)
#   agnhost   k8s.io/kubernetes/test/images/agnhost, the test server in the
#             suites' pods; hack/images puts it into the agnhost image
#
# The wrapper module hack/e2e holds the requirements. bin/e2e/VERSION records
# the versions (hack/lib.sh's cached_build): a warm run costs nothing, a
# version bump rebuilds everything. e2e.test takes 8-11 minutes on 2 cores.
#
# Usage: hack/build-e2e.sh [OUTPUT_DIR]   (default: bin/e2e)
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
log=build-e2e
# shellcheck source=hack/lib.sh
source "$root/hack/lib.sh"
out=$(realpath -m "${1:-$root/bin/e2e}")
wrapper=$root/hack/e2e

KUBERNETES_VERSION=$(pin KUBERNETES_VERSION)
binaries=(ginkgo agnhost e2e.test)

# library_version MODULE: the version of MODULE that k8s.io/kubernetes at
# KUBERNETES_VERSION requires, from its go.mod in the module cache.
library_version() {
	local modfile
	modfile=$(cd "$wrapper" && GOFLAGS=-mod=mod go mod download -json "k8s.io/kubernetes@$KUBERNETES_VERSION" | sed -n 's/.*"GoMod": "\(.*\)",/\1/p')
	awk -v m="$1" '$1 == m && $2 ~ /^v/ {print $2; exit}' "$modfile"
}

GINKGO_VERSION=$(library_version github.com/onsi/ginkgo/v2)
stamp="kubernetes=$KUBERNETES_VERSION ginkgo=$GINKGO_VERSION $(go env GOVERSION) $(go env GOOS)/$(go env GOARCH)"

# sync_wrapper points the wrapper module at KUBERNETES_VERSION: it requires
# k8s.io/kubernetes and replaces every staging module (which k8s.io/kubernetes
# maps to ./staging/src/...) with its published v0.Y.Z, sample-apiserver
# included (the apimachinery suite imports it).
sync_wrapper() {
	local current
	current=$(awk '$1 == "k8s.io/kubernetes" && $2 ~ /^v/ {print $2}' "$wrapper/go.mod")
	if [[ $current != "$KUBERNETES_VERSION" ]]; then
		echo "$log: pointing hack/e2e/go.mod at kubernetes $KUBERNETES_VERSION"
		local staging="v0.${KUBERNETES_VERSION#v1.}" modfile m
		modfile=$(cd "$wrapper" && GOFLAGS=-mod=mod go mod download -json "k8s.io/kubernetes@$KUBERNETES_VERSION" | sed -n 's/.*"GoMod": "\(.*\)",/\1/p')
		(
			cd "$wrapper"
			go mod edit -require="k8s.io/kubernetes@$KUBERNETES_VERSION"
			for m in $(sed -n 's/^\t\(k8s.io\/[a-z-]*\) => \.\/staging.*/\1/p' "$modfile"); do
				go mod edit -replace="$m=$m@$staging"
			done
			go mod tidy
		)
	fi
	local got
	got=$(cd "$wrapper" && go list -m -f '{{.Version}}' github.com/onsi/ginkgo/v2)
	if [[ $got != "$GINKGO_VERSION" ]]; then
		echo "$log: hack/e2e resolves ginkgo $got, but kubernetes $KUBERNETES_VERSION requires $GINKGO_VERSION" >&2
		exit 1
	fi
}

# build DIR NAME...: builds the named binaries into DIR, one at a time.
build() {
	local dir=$1 ldflags b
	shift
	sync_wrapper
	ldflags=$(k8s_ldflags "$KUBERNETES_VERSION")
	for b in "$@"; do
		echo "$log: building $b"
		local start=$SECONDS
		(
			cd "$wrapper"
			export CGO_ENABLED=0
			case $b in
			e2e.test) go test -c -trimpath -ldflags "$ldflags" -o "$dir/e2e.test" k8s.io/kubernetes/test/e2e ;;
			ginkgo) go build -trimpath -ldflags "-s -w" -o "$dir/ginkgo" github.com/onsi/ginkgo/v2/ginkgo ;;
			agnhost) go build -trimpath -ldflags "-s -w" -o "$dir/agnhost" k8s.io/kubernetes/test/images/agnhost ;;
			*) echo "$log: unknown binary $b" >&2; exit 1 ;;
			esac
		)
		echo "$log: built $b in $((SECONDS - start))s"
	done
}

cached_build "$out" "$stamp" build "${binaries[@]}"
