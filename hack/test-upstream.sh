#!/usr/bin/env bash
# Runs the upstream Kubernetes e2e suites (bin/e2e, hack/build-e2e.sh)
# against Plinth, each set on a fresh local cluster of 2 real nodes with the
# chart and its defaults (bin/plinth-devcluster --exec), then summarizes the
# JUnit reports per suite (hack/conformance).
#
#   storage       the External Storage suites for
#                 test/e2e/upstream/testdriver.yaml, but [Slow] specs
#   storage-slow  their [Slow] specs
#   network       the pod network's "Networking Granular Checks" for Pods
#                 and, through the nodes' kube-proxy, for Services
#   netpol        the NetworkPolicy suites (test/e2e/network/netpol: "Netpol"
#                 over TCP, "Netpol [LinuxOnly]" over UDP, "Netpol API"),
#                 enforced by plinth-node's network agent (about 14 minutes
#                 on 2 cores, so not in ci)
#   full          storage, storage-slow, network and netpol, one cluster
#                 each; the summary goes to docs/conformance.md
#                 (`make test-upstream`)
#   ci            storage and network, one cluster each: the part that fits
#                 CI (`make test`, TestUpstreamSubset; about 15 minutes on 2
#                 cores)
#   smoke         a quick check: the provisioning and volumes suites on the
#                 default fs and ext4, and the Pods checks, without [Slow]
#
# Skipped everywhere, by regular expression: [Disruptive] specs (they
# restart kubelets over SSH, which the e2e framework's skeleton provider
# cannot), SCTP and IPv6 (the pod network is IPv4, TCP and UDP), and the
# "any volume data source" spec (its populator and validator images,
# registry.k8s.io/sig-storage/hello-populator and
# volume-data-source-validator, cannot be built offline: their modules are
# not on the Go module proxy). Whatever else does not apply is skipped by
# the suites themselves, from the test driver's capabilities and the
# cluster, with the reason in the report. In the netpol set only the
# [Feature:SCTPConnectivity] specs are skipped, not every spec that names
# SCTP: its two specs "... even if the plugin doesn't support SCTP" probe TCP
# past policies that allow only SCTP, and apply to a pod network without
# SCTP.
#
# Usage: hack/test-upstream.sh SET...
# Environment: UPSTREAM_DIR (default bin/e2e-upstream: each set's report
# goes to UPSTREAM_DIR/<set>, the cluster's state to UPSTREAM_DIR/cluster),
# UPSTREAM_PROCS (ginkgo processes, default 3: the specs mostly wait for
# pods and volumes), UPSTREAM_FOCUS (a regular expression that narrows a set
# further, for debugging), HELM (default bin/helm), UPSTREAM_BIN_DIR and
# UPSTREAM_CHART (the cluster's bin/ - k8s/, node/, images/*.tar, pause -
# and the chart it installs; default this repository's bin and
# charts/plinth: set them to test another build of Plinth), UPSTREAM_VALUES
# (extra `helm install` arguments; default: XFS as the class's filesystem,
# see below), UPSTREAM_POOL_SIZE (each node's pool, default 16Gi).
#
# The default filesystem: growing a mounted ext4 filesystem (online
# expansion) needs CAP_SYS_RESOURCE, which plinth-node has on an ordinary
# node but not on machines whose root lacks it (CI's sandboxes): there
# plinth-node refuses NodeExpandVolume of a mounted ext4 volume and grows it
# at its next stage instead, and the online-expansion specs of the default
# filesystem would wait 10 minutes each for nothing. XFS grows online
# without it, so the class is XFS; the suites' ext4 patterns still run on
# ext4.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
top=$(realpath -m "${UPSTREAM_DIR:-$root/bin/e2e-upstream}")
procs=${UPSTREAM_PROCS:-3}
helm=${HELM:-$root/bin/helm}
e2e=$root/bin/e2e
bin_dir=$(realpath -m "${UPSTREAM_BIN_DIR:-$root/bin}")
chart=$(realpath -m "${UPSTREAM_CHART:-$root/charts/plinth}")
read -r -a values <<<"${UPSTREAM_VALUES---set storageClass.fsType=xfs}"
# Each node's pool (a sparse XFS image): with UPSTREAM_PROCS specs at once,
# each holding volumes of 1-2Gi and their snapshots and clones, the default
# 4Gi fills up, and a spec that grows a volume then waits for the others to
# free room (its expansion is retried, with backoff up to 5 minutes).
pool_size=${UPSTREAM_POOL_SIZE:-16Gi}
driver=$root/test/e2e/upstream/testdriver.yaml

storage='External Storage \[Driver: csi\.plinth\.dev\]'
skip_always=(
	'\[Disruptive\]'
	'SCTP'
	'IPv6|DualStack'
	'provisioning should provision storage with any volume data source'
)

# set_args SET: sets focus, skip and timeout for one set.
set_args() {
	skip=("${skip_always[@]}")
	case $1 in
	storage)
		focus=("$storage")
		skip+=('\[Slow\]')
		timeout=3h
		;;
	storage-slow)
		focus=("$storage.*\[Slow\]")
		timeout=3h
		;;
	network)
		focus=('\[sig-network\] Networking Granular Checks: (Pods|Services)')
		timeout=1h
		;;
	netpol)
		focus=('\[sig-network\] Netpol ')
		local sctp='\[Feature:SCTPConnectivity\]' i
		for i in "${!skip[@]}"; do
			[[ ${skip[i]} != SCTP ]] || skip[i]=$sctp
		done
		timeout=1h
		;;
	smoke)
		focus=(
			"$storage \[Testpattern: Dynamic PV \((default fs|ext4)\)\] (provisioning|volumes) "
			'\[sig-network\] Networking Granular Checks: Pods'
		)
		skip+=('\[Slow\]')
		timeout=30m
		;;
	*)
		echo "test-upstream: unknown set $1 (storage, storage-slow, network, netpol, smoke, full or ci)" >&2
		exit 2
		;;
	esac
	if [[ -n ${UPSTREAM_FOCUS:-} ]]; then
		focus=("${focus[@]/%/.*$UPSTREAM_FOCUS}")
	fi
}

# quote ARG...: the arguments as a shell would read them back, in single
# quotes where needed.
quote() {
	local a out=()
	for a in "$@"; do
		if [[ $a =~ ^[A-Za-z0-9_./=:,+-]+$ ]]; then
			out+=("$a")
		else
			out+=("'${a//\'/\'\\\'\'}'")
		fi
	done
	echo "${out[*]}"
}

# run_set SET: runs one set on a fresh cluster; its JUnit report and the
# command go to UPSTREAM_DIR/SET.
run_set() {
	local set=$1 dir=$top/$1 f s
	set_args "$set"
	rm -rf "$dir" && mkdir -p "$dir"
	local ginkgo=(bin/e2e/ginkgo --procs="$procs" --timeout="$timeout" --no-color --silence-skips --poll-progress-after=10m)
	for f in "${focus[@]}"; do ginkgo+=(--focus="$f"); done
	for s in "${skip[@]}"; do ginkgo+=(--skip="$s"); done
	# The ginkgo CLI runs e2e.test in its own directory: absolute paths.
	# -num-nodes tells the suites the cluster's size (the skeleton provider
	# does not know it; the Services checks skip without it).
	ginkgo+=(bin/e2e/e2e.test -- -storage.testdriver="$driver" -report-dir="$dir" -num-nodes=2 -disable-log-dump)
	local command
	command=$(quote "${ginkgo[@]}")
	{
		echo "# helm install ${values[*]}"
		echo "${command//$root\//}"
	} >"$dir/command"
	echo "test-upstream: $set: $command"
	# The ginkgo CLI compares its version with `go list -m` run beside
	# e2e.test, which finds this repository's go.mod (another ginkgo) and
	# warns of a mismatch that is not there: e2e.test is built from
	# hack/e2e. Without modules, the check is skipped.
	local script="cd $(quote "$root") && GO111MODULE=off $command"
	# The cluster runs in the background so that an interrupt or a timeout
	# reaches plinth-devcluster, which stops the command and the cluster.
	"$root/bin/plinth-devcluster" --dir "$top/cluster" --bin-dir "$bin_dir" --helm "$helm" --pool-size "$pool_size" \
		--chart "$chart" --exec "$script" -- "${values[@]}" &
	cluster=$!
	trap 'kill -TERM "$cluster" 2>/dev/null' INT TERM
	# wait returns early (above 128) when a trapped signal arrives: wait
	# again until plinth-devcluster is gone.
	local rc
	while :; do
		rc=0
		wait "$cluster" || rc=$?
		kill -0 "$cluster" 2>/dev/null || break
	done
	trap - INT TERM
	return "$rc"
}

(($# > 0)) || set -- full
sets=()
for a in "$@"; do
	case $a in
	full) sets+=(storage storage-slow network netpol) ;;
	ci) sets+=(storage network) ;;
	*) sets+=("$a") ;;
	esac
done
for f in "$e2e/e2e.test" "$e2e/ginkgo" "$helm" "$bin_dir/images/agnhost.tar" "$bin_dir/images/e2e-shell.tar"; do
	[[ -e $f ]] || { echo "test-upstream: $f is missing: run make e2e-bins upstream-images e2e-deps helm" >&2; exit 1; }
done
(cd "$root" && go build -o bin/plinth-devcluster ./test/cmd/plinth-devcluster)

status=0
dirs=()
for set in "${sets[@]}"; do
	run_set "$set" || status=1
	dirs+=("$top/$set")
done

summary=$top/conformance.md
[[ $* != full ]] || summary=$root/docs/conformance.md
# test/e2e/upstream/notes.md explains the skips and what Plinth does not
# claim; it ends the summary.
(cd "$root" && go run ./hack/conformance -set "$*" -notes test/e2e/upstream/notes.md -out "$summary" "${dirs[@]}") || status=1
echo "test-upstream: summary in $summary"
exit "$status"
