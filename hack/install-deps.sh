#!/usr/bin/env bash
# Installs the Debian packages that Plinth's node and control-plane tests use,
# and those that real nodes (kubelet + containerd, `make node-tools`) need.
# Idempotent: when every command is already on PATH it does nothing. Needs root
# to install; without root it only reports what is missing.
set -euo pipefail

# command -> Debian package that provides it.
declare -A packages=(
	[mkfs.ext4]=e2fsprogs
	[resize2fs]=e2fsprogs
	[mkfs.xfs]=xfsprogs
	[xfs_growfs]=xfsprogs
	[losetup]=mount
	[blkid]=util-linux
	[findmnt]=util-linux
	[fsfreeze]=util-linux
	[ip]=iproute2
	# kube-proxy's nftables mode runs nft; its conntrack cleanup uses netlink,
	# not the conntrack tool.
	[nft]=nftables
	# Real nodes: containerd's runc shim runs runc; the node harness enters
	# each node's namespaces with nsenter and unshare.
	[runc]=runc
	[nsenter]=util-linux
	[unshare]=util-linux
	[ping]=iputils-ping
	[iperf3]=iperf3
	[git]=git
	[make]=make
)

missing=()
for cmd in "${!packages[@]}"; do
	command -v "$cmd" >/dev/null 2>&1 || missing+=("${packages[$cmd]}")
done
[[ ${#missing[@]} -eq 0 ]] && exit 0

mapfile -t missing < <(printf '%s\n' "${missing[@]}" | sort -u)
if [[ $(id -u) -ne 0 ]]; then
	echo "install-deps: missing packages (install as root): ${missing[*]}" >&2
	exit 0
fi
echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
