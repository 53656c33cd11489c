#!/usr/bin/env bash
# build-runtime.sh: builds the lab's pod runtime (lab/runtime, Go module
# kbuild.dev/lab/runtime) into the cache outside the repository:
#
#   $KBUILD_LAB_CACHE/runtime/<hash>/kbuild-lab-runtime
#
# where <hash> covers the module's sources (go.mod, go.sum, non-test .go
# files) and the Go version, so an unchanged tree reuses the binary at once.
# Modules come from the Go module proxy, checked against the committed go.sum
# (-mod=readonly).
#
# Prints the binary's path on the last line of stdout; progress goes to stderr.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=SCRIPTDIR/versions.sh
source "$here/versions.sh"
src=$(cd "$here/../runtime" && pwd)

log() { printf '[lab runtime %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

command -v go >/dev/null || { log "go is not installed (Go 1.26 or later is needed)"; exit 1; }
go_version=$(go env GOVERSION)
hash=$(
  cd "$src"
  {
    echo "$go_version"
    find . -type f \( -name '*.go' ! -name '*_test.go' -o -name go.mod -o -name go.sum \) -print0 |
      LC_ALL=C sort -z | xargs -0 sha256sum
  } | sha256sum | cut -c1-16
)
out_dir="$KBUILD_LAB_CACHE/runtime/$hash"
bin="$out_dir/kbuild-lab-runtime"
if [[ -x $bin ]]; then
  log "reusing $bin"
  echo "$bin"
  exit 0
fi

log "building kbuild-lab-runtime with $go_version (the first build downloads modules and takes a few minutes)"
mkdir -p "$out_dir"
tmp=$(mktemp "$out_dir/.build.XXXXXX")
trap 'rm -f "$tmp"' EXIT
started=$SECONDS
(
  cd "$src"
  CGO_ENABLED=0 GOFLAGS=-mod=readonly GOTOOLCHAIN=local go build -trimpath -ldflags "-s -w" -o "$tmp" .
)
chmod 755 "$tmp"
mv "$tmp" "$bin"
trap - EXIT
log "built $bin in $((SECONDS - started))s"
# Older builds are of no use (a running runtime keeps its deleted binary).
for old in "$KBUILD_LAB_CACHE/runtime"/*/; do
  [[ ${old%/} == "$out_dir" ]] || rm -rf "$old"
done
echo "$bin"
