#!/usr/bin/env bash
# Checks that every hand-written Go file of the repository (every module in
# it) starts with the licence header of hack/boilerplate.go.txt, after its
# //go:build line if it has one (a build constraint must come first, as in
# the files controller-gen generates). Generated files (zz_generated.*) get
# the header from controller-gen itself.
# Usage: hack/verify-headers.sh [--fix]   (--fix adds the header where missing)
set -euo pipefail
cd "$(dirname "$0")/.."

header=hack/boilerplate.go.txt
lines=$(wc -l <"$header")
fix=false
[[ ${1:-} == --fix ]] && fix=true

# skip prints how many lines of f come before its header: a build
# constraint and the blank line after it.
skip() {
	if head -n 1 "$1" | grep -q '^//go:build'; then echo 2; else echo 0; fi
}

missing=()
while IFS= read -r -d '' f; do
	[[ -f $f ]] || continue # deleted from the work tree, not yet from the index
	n=$(skip "$f")
	# head reads the file itself: no reader of a pipe stops early, which
	# under pipefail would look like a mismatch.
	if ! head -n "$((n + lines))" "$f" | tail -n +"$((n + 1))" | cmp -s - "$header"; then
		missing+=("$f")
	fi
done < <(git ls-files -z --cached --others --exclude-standard -- '*.go' ':!:**/zz_generated.*')

if [[ ${#missing[@]} -eq 0 ]]; then
	exit 0
fi
if $fix; then
	for f in "${missing[@]}"; do
		n=$(skip "$f")
		{ head -n "$n" "$f"; cat "$header"; echo; tail -n +"$((n + 1))" "$f"; } >"$f.tmp" && mv "$f.tmp" "$f"
	done
	echo "verify-headers: added the licence header to ${#missing[@]} files"
	exit 0
fi
echo "verify-headers: these Go files lack the licence header of $header (run hack/verify-headers.sh --fix):" >&2
printf '  %s\n' "${missing[@]}" >&2
exit 1
