#!/usr/bin/env bash
# try-example.sh: builds one example package (examples/packages/NAME.yaml) on
# this host, without Kubernetes, in a sandbox like a lab build pod's but on the
# host's programs (the lab's pods run in their image, docs/lab.md section
# Images): bubblewrap with the host filesystem read-only, a writable /workspace
# holding the staged context, a private /tmp, no network, uid/gid 65532. Then
# lists the artifacts. A quick check of a definition; the image's tools are
# what counts on the lab and on GKE (test/e2e/examples-build.test.ts).
#
#   lab/scripts/try-example.sh [--arch ARCH] [--keep] [--no-stage-sources] NAME
#   lab/scripts/try-example.sh [...] all     every example, dependencies first
#
#   --arch ARCH          KBUILD_ARCH for the build (artifacts in packages/ARCH;
#                        the code is still built for this host)
#   --keep               keep the workspace (its path is printed)
#   --no-stage-sources   do not copy the Debian sources into the context; the
#                        build then finds them through $KBUILD_LAB_SOURCES
#
# The context is staged like the action stages `context: examples`: the files
# git knows (tracked, or untracked and not ignored) under examples/, plus the
# fetched Debian source packages as sources/SRC/ (lab/scripts/fetch-sources.sh
# fetches them first). The build runs `make package/NAME` in /workspace, which
# is what kbuild-action runs by default.
#
# `bwrap --ro-bind / / ... --bind DIR /workspace` cannot work on a host without
# a /workspace directory (bwrap cannot create the mount point on the read-only
# root), so the sandbox's root is a tmpfs holding read-only binds of every
# top-level host directory (and the host's top-level symlinks), remounted
# read-only at the end.
#
# Prints progress on stderr; stdout gets one line per artifact (`SIZE PATH`,
# paths relative to the workspace) and a last line
# `NAME: built in SECONDS s, N artifacts, BYTES bytes`. Exits with the build's status.
set -euo pipefail

# shellcheck source=SCRIPTDIR/versions.sh
source "$(dirname "$0")/versions.sh"

log() { printf '[lab try %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() {
  log "error: $*"
  exit 2
}

arch='' keep=0 stage=1 name=''
while [[ $# -gt 0 ]]; do
  case $1 in
    --arch) arch=${2:?--arch needs a value}; shift ;;
    --keep) keep=1 ;;
    --no-stage-sources) stage=0 ;;
    -*) die "unknown option $1 (use --arch ARCH, --keep, --no-stage-sources)" ;;
    *) [[ -z $name ]] || die "one package at a time"; name=$1 ;;
  esac
  shift
done
repo=$(cd "$(dirname "$0")/../.." && pwd)
[[ -n $name ]] || die "usage: try-example.sh [--arch ARCH] [--keep] [--no-stage-sources] NAME"
target=package/$name
if [[ $name == all ]]; then
  target=all
elif [[ ! -f $repo/examples/packages/$name.yaml ]]; then
  die "no examples/packages/$name.yaml"
fi
command -v bwrap >/dev/null || die "bubblewrap (bwrap) is not installed"

sources=$(bash "$repo/lab/scripts/fetch-sources.sh" | tail -n1)

ws=$(mktemp -d "${TMPDIR:-/tmp}/kbuild-try-$name.XXXXXX")
if [[ $keep == 0 ]]; then
  trap 'rm -rf "$ws"' EXIT
fi
(cd "$repo/examples" && git ls-files -z --cached --others --exclude-standard .) |
  tar -C "$repo/examples" --null -T - -cf - | tar -C "$ws" -xf -
if [[ $stage == 1 ]]; then
  mkdir -p "$ws/sources"
  for d in "$sources"/*/; do
    [[ -f $d/.complete ]] && cp -r "$d" "$ws/sources/"
  done
fi
log "$name: context staged in $ws ($(du -sh "$ws" | cut -f1))"

# The sandbox: a tmpfs root with every top-level host directory bound read-only.
args=(--tmpfs /)
for entry in /*; do
  case $entry in
    /proc | /dev | /tmp | /workspace) continue ;;
  esac
  if [[ -L $entry ]]; then
    args+=(--symlink "$(readlink "$entry")" "$entry")
  elif [[ -d $entry ]]; then
    args+=(--ro-bind "$entry" "$entry")
  fi
done
args+=(
  --dev /dev --proc /proc --tmpfs /tmp --bind "$ws" /workspace --remount-ro /
  --unshare-net --unshare-user --unshare-pid --unshare-ipc --unshare-uts --new-session
  --uid 65532 --gid 65532 --die-with-parent
  --chdir /workspace --clearenv
  --setenv PATH /usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
  --setenv HOME /tmp --setenv LANG C.UTF-8 --setenv KBUILD_LAB_SOURCES "$sources"
)
[[ -z $arch ]] || args+=(--setenv KBUILD_ARCH "$arch")

log "$name: make $target (bwrap, uid 65532, no network, read-only host)"
started=$SECONDS
status=0
bwrap "${args[@]}" make "$target" >&2 || status=$?
elapsed=$((SECONDS - started))
if [[ $status != 0 ]]; then
  log "$name: build failed with exit status $status after ${elapsed}s"
  exit "$status"
fi

count=0 bytes=0
while read -r size path; do
  printf '%s %s\n' "$size" "$path"
  count=$((count + 1)) bytes=$((bytes + size))
done < <(cd "$ws" && find packages -mindepth 2 -type f -printf '%s %p\n' | sort -k2)
[[ $keep == 0 ]] || log "$name: workspace kept in $ws"
echo "$name: built in ${elapsed}s, $count artifacts, $bytes bytes"
