#!/usr/bin/env bash
# act.sh: runs nektos/act, a GitHub Actions runner that nobody here wrote, at
# a pinned version, built with `go install` from the Go module proxy and
# cached outside the repository, keyed by version:
#   $KBUILD_LAB_CACHE/tools/act-<version>/act
# Usage: bash scripts/act.sh [act arguments]
#        bash scripts/act.sh --which     prints the binary (builds it when needed)
set -euo pipefail

version=${ACT_VERSION:-v0.2.89}
cache=${KBUILD_LAB_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/kbuild-lab}
dir=$cache/tools/act-$version
bin=$dir/act

if [[ ! -x $bin ]]; then
  command -v go >/dev/null || {
    echo "act.sh: go is missing: install Go >= 1.24 to build act $version" >&2
    exit 1
  }
  echo "act.sh: building act $version into $dir" >&2
  mkdir -p "$dir"
  (cd "$dir" && GOBIN=$dir GOFLAGS=-trimpath go install "github.com/nektos/act@$version")
fi
if [[ ${1-} == --which ]]; then
  echo "$bin"
  exit 0
fi
exec "$bin" "$@"
