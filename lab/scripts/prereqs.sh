#!/usr/bin/env bash
# prereqs.sh: installs the Debian packages the lab needs on this machine, as
# root with apt-get; as another user it names the missing ones and fails.
#
#   bubblewrap         the pod runtime's sandbox (bwrap)
#   mmdebstrap         builds the images' root filesystems (build-images.sh)
#   jq                 reads the image catalogue (build-images.sh)
#   qemu-user-static   runs arm64 code on amd64 (and the reverse) for arm64 pods
#   binfmt-support     registers qemu-user-static in binfmt_misc (binfmt.sh)
#
# A second run finds everything installed and returns at once.
set -euo pipefail

log() { printf '[lab prereqs %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

declare -A provides=(
  [bubblewrap]=/usr/bin/bwrap
  [mmdebstrap]=/usr/bin/mmdebstrap
  [jq]=/usr/bin/jq
  [qemu-user-static]=/usr/bin/qemu-aarch64-static
  [binfmt-support]=/usr/sbin/update-binfmts
  [dpkg-dev]=/usr/bin/dpkg-source
)
missing=()
for pkg in bubblewrap mmdebstrap jq qemu-user-static binfmt-support dpkg-dev; do
  [[ -e ${provides[$pkg]} ]] || missing+=("$pkg")
done
((${#missing[@]})) || exit 0
if [[ $(id -u) != 0 ]]; then
  log "error: missing Debian packages: ${missing[*]}; install them as root (apt-get install ${missing[*]}), then run again"
  exit 1
fi
log "installing ${missing[*]} (apt-get)"
export DEBIAN_FRONTEND=noninteractive
if ! apt-get install -y -qq "${missing[@]}" >/dev/null 2>&1; then
  apt-get update -qq
  apt-get install -y -qq "${missing[@]}" >/dev/null
fi
