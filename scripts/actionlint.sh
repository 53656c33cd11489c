#!/usr/bin/env bash
# actionlint.sh: lints the example workflows and the project's own workflows
# with actionlint, which also runs shellcheck on `run:` scripts (the one
# scripts/shellcheck.sh finds or installs). actionlint is built with `go install` from the Go module proxy
# at a pinned version and cached outside the repository, keyed by version:
#   $KBUILD_LAB_CACHE/tools/actionlint-<version>/actionlint
# Usage: bash scripts/actionlint.sh [extra actionlint flags]
set -euo pipefail
cd "$(dirname "$0")/.."

version=${ACTIONLINT_VERSION:-v1.7.12}
cache=${KBUILD_LAB_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/kbuild-lab}
dir=$cache/tools/actionlint-$version
bin=$dir/actionlint

if [[ ! -x $bin ]]; then
  if ! command -v go >/dev/null; then
    echo "actionlint.sh: go is missing: install Go >= 1.24 to build actionlint $version" >&2
    exit 1
  fi
  echo "actionlint.sh: building actionlint $version into $dir" >&2
  mkdir -p "$dir"
  GOBIN=$dir GOFLAGS=-trimpath go install "github.com/rhysd/actionlint/cmd/actionlint@$version"
fi

shopt -s nullglob
files=(examples/workflows/*.yml .github/workflows/*.yml)
if ((${#files[@]} == 0)); then
  echo "actionlint.sh: no workflow files found" >&2
  exit 1
fi
"$bin" --version | head -n 1
"$bin" -shellcheck "$(bash scripts/shellcheck.sh --which)" "$@" "${files[@]}"
echo "actionlint: ${#files[@]} workflow files are clean"
