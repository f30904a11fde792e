# Shell functions shared by the hack/build-*.sh scripts; source it after
# setting `root` (the repository root) and `log` (the prefix of messages).

# pin NAME: the value of NAME from the environment or hack/versions.mk.
pin() {
	local v=${!1:-}
	[[ -n $v ]] || v=$(sed -n "s/^$1 *?= *//p" "$root/hack/versions.mk")
	[[ -n $v ]] || { echo "$log: $1 is not set in hack/versions.mk" >&2; exit 1; }
	echo "$v"
}

# cached_build OUT STAMP BUILD BINARY...: makes directory OUT hold every
# BINARY, built for STAMP (the versions and toolchain they depend on), which
# OUT/VERSION records. While VERSION matches, only missing binaries are built
# and moved in one by one; otherwise all are built into OUT.tmp, which then
# replaces OUT, so an interrupted build never leaves a half-built OUT.
# BUILD DIR NAME... must build the named binaries into DIR.
cached_build() {
	local out=$1 stamp=$2 build=$3 b full=true
	shift 3
	local todo=("$@")
	if [[ -f $out/VERSION && $(<"$out/VERSION") == "$stamp" ]]; then
		full=false todo=()
		for b in "$@"; do [[ -x $out/$b ]] || todo+=("$b"); done
	fi
	if ((${#todo[@]} == 0)); then
		echo "$log: $out is up to date ($stamp)"
		return 0
	fi
	local tmp=$out.tmp start=$SECONDS
	rm -rf "$tmp" && mkdir -p "$tmp"
	"$build" "$tmp" "${todo[@]}"
	if $full; then
		echo "$stamp" >"$tmp/VERSION"
		rm -rf "$out" && mv "$tmp" "$out"
	else
		for b in "${todo[@]}"; do mv "$tmp/$b" "$out/$b"; done
		rmdir "$tmp"
	fi
	echo "$log: built ${todo[*]} into $out in $((SECONDS - start))s"
}

# k8s_ldflags VERSION prints the -ldflags that stamp a Kubernetes binary with
# VERSION (vX.Y.Z) the way a release build does, stripped, reproducible.
k8s_ldflags() {
	local version=$1 major minor vpkg=k8s.io/component-base/version
	major=${version#v}; major=${major%%.*}
	minor=${version#v*.}; minor=${minor%%.*}
	printf '%s' "-s -w -X $vpkg.gitVersion=$version -X $vpkg.gitMajor=$major -X $vpkg.gitMinor=$minor"
	printf '%s' " -X $vpkg.gitTreeState=clean -X $vpkg.gitCommit=0000000000000000000000000000000000000000"
	printf '%s' " -X $vpkg.buildDate=1970-01-01T00:00:00Z"
}
