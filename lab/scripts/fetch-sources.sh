#!/usr/bin/env bash
# fetch-sources.sh: fetches Debian source packages (the lab's real build input)
# with `apt-get source --download-only` into a cache outside the repository:
#
#   $KBUILD_LAB_CACHE/sources/<package>/      the .dsc, the orig tarball(s), the
#                                             debian tarball (or .diff.gz)
#   $KBUILD_LAB_CACHE/sources/index.json      {"<package>": {"version", "dsc",
#                                             "files": [...]}} for every package
#   $KBUILD_LAB_CACHE/apt/                    the private apt configuration and
#                                             index files used to fetch them
#
#   lab/scripts/fetch-sources.sh [PACKAGE[=VERSION] ...]   (default: the examples' set)
#
# The archive's address comes from the machine's own apt configuration: every
# `deb` entry of /etc/apt/sources.list and /etc/apt/sources.list.d/*.list and
# *.sources (deb822) becomes a `deb-src` entry, keeping its options (Signed-By
# keyrings, Enabled, ...), in a PRIVATE configuration passed with `-o Dir::...`;
# the system's apt configuration, lists and caches are not touched and nothing
# here names a host. A package already in the cache is not fetched again; the
# index files are refreshed only when a package is missing from them, or when
# KBUILD_LAB_SOURCES_REFRESH=1. Runs concurrently with itself (flock).
#
# As root, apt downloads as the unprivileged user _apt (APT::Sandbox::User); when
# _apt cannot write the cache (e.g. under /root, mode 0700), apt would warn and
# fall back, so the script passes APT::Sandbox::User=root itself. As a
# non-root user apt does not drop privileges and the private directories suffice.
#
# Prints progress on stderr and the sources directory on the last line of stdout
# (the value of KBUILD_LAB_SOURCES).
set -euo pipefail

# shellcheck source=SCRIPTDIR/versions.sh
source "$(dirname "$0")/versions.sh"

log() { printf '[lab sources %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() {
  log "error: $*"
  exit 1
}

default_packages=(hello zlib brotli libpng1.6)
packages=("$@")
[[ ${#packages[@]} -gt 0 ]] || packages=("${default_packages[@]}")

: "${KBUILD_LAB_SOURCES:=$KBUILD_LAB_CACHE/sources}"
sources_dir=$KBUILD_LAB_SOURCES
apt_dir=$KBUILD_LAB_CACHE/apt
etc_dir=${KBUILD_LAB_APT_ETC:-/etc/apt}
mkdir -p "$sources_dir" "$apt_dir"

exec 9>"$sources_dir/.lock"
if ! flock -n 9; then
  log "waiting for another fetch-sources.sh (lock $sources_dir/.lock)"
  flock 9
fi
rm -rf "$sources_dir"/.tmp-*

# complete NAME: true when NAME is in the cache already.
complete() { [[ -f "$sources_dir/$1/.complete" ]]; }

missing=() failed=()
for spec in "${packages[@]}"; do
  [[ $spec =~ ^[a-z0-9][a-z0-9.+-]*(=[A-Za-z0-9.+:~-]+)?$ ]] ||
    die "invalid source package \"$spec\": use NAME or NAME=VERSION (Debian source package names)"
  if complete "${spec%%=*}"; then
    log "${spec%%=*}: cached ($(cat "$sources_dir/${spec%%=*}/.complete"))"
  else
    missing+=("$spec")
  fi
done

# deb822_to_src FILE: prints each deb822 stanza whose Types include `deb` with
# Types: deb-src, keeping every other field (Signed-By, Enabled, ...), including
# multi-line values. Comment lines are dropped.
deb822_to_src() {
  awk '
    function flush() {
      if (n > 0 && isdeb) { for (i = 1; i <= n; i++) print lines[i]; print "" }
      n = 0; isdeb = 0
    }
    /^[ \t]*$/ { flush(); next }
    /^#/ { next }
    tolower($0) ~ /^types:/ {
      sub(/^[^:]*:[ \t]*/, "")
      if ((" " $0 " ") ~ /[ \t]deb[ \t]/) { isdeb = 1; lines[++n] = "Types: deb-src" }
      next
    }
    { lines[++n] = $0 }
    END { flush() }
  ' "$1"
}

# list_to_src FILE: prints each one-line `deb [opts] URI SUITE COMPONENTS` entry
# of FILE as `deb-src [opts] URI SUITE COMPONENTS`.
list_to_src() {
  sed -n 's/^[[:space:]]*deb[[:space:]]\{1,\}/deb-src /p' "$1"
}

# apt_file_ok NAME: apt's own rule for files in sources.list.d: only
# [A-Za-z0-9_.-] and the right extension.
apt_file_ok() { [[ $(basename "$1") =~ ^[A-Za-z0-9_.-]+\.(list|sources)$ ]]; }

write_config() {
  local list=$apt_dir/etc/sources.list parts=$apt_dir/etc/sources.list.d f
  rm -rf "${apt_dir:?}/etc"
  mkdir -p "$parts" "$apt_dir/lists/partial" "$apt_dir/cache/archives/partial"
  : >"$list"
  [[ -f $etc_dir/sources.list ]] && list_to_src "$etc_dir/sources.list" >>"$list"
  for f in "$etc_dir"/sources.list.d/*; do
    if [[ ! -f $f ]] || ! apt_file_ok "$f"; then continue; fi
    case $f in
      *.list) list_to_src "$f" >>"$list" ;;
      *.sources) deb822_to_src "$f" >"$parts/$(basename "$f")" ;;
    esac
  done
  if [[ ! -s $list ]] && ! grep -qs '^Types: deb-src' "$parts"/*.sources; then
    die "no deb entries in $etc_dir/sources.list or $etc_dir/sources.list.d: cannot derive deb-src entries"
  fi
  log "deb-src entries: $(grep -hc '^deb-src' "$list") one-line, $(cat "$parts"/*.sources 2>/dev/null | grep -c '^Types: deb-src') deb822 (in $apt_dir/etc)"
}

apt_opts=(
  -o "Dir::Etc::SourceList=$apt_dir/etc/sources.list"
  -o "Dir::Etc::SourceParts=$apt_dir/etc/sources.list.d"
  -o "Dir::State::Lists=$apt_dir/lists"
  -o "Dir::Cache=$apt_dir/cache"
  -o "Acquire::Languages=none"
  -o "APT::Get::Only-Source=true"
)

# sandbox_opts: as root, pass APT::Sandbox::User=root when _apt cannot write
# the cache (apt would otherwise warn and download as root anyway).
sandbox_opts() {
  [[ $(id -u) == 0 ]] || return 0
  if id _apt >/dev/null 2>&1 &&
    setpriv --reuid=_apt --regid="$(id -g _apt)" --clear-groups test -w "$apt_dir/lists/partial" 2>/dev/null &&
    setpriv --reuid=_apt --regid="$(id -g _apt)" --clear-groups test -w "$sources_dir" 2>/dev/null; then
    return 0
  fi
  apt_opts+=(-o "APT::Sandbox::User=root")
  log "running as root and _apt cannot write $KBUILD_LAB_CACHE: APT::Sandbox::User=root"
}

update() {
  log "apt-get update (deb-src indexes into $apt_dir/lists)"
  if ! apt-get "${apt_opts[@]}" -q update >"$apt_dir/update.log" 2>&1; then
    log "warning: apt-get update reported errors (see $apt_dir/update.log); continuing with what it fetched"
  fi
  date +%s >"$apt_dir/lists/.updated"
}

# download SPEC DIR: apt-get source --download-only SPEC into DIR; apt's output
# goes to DIR.log.
download() {
  (cd "$2" && apt-get "${apt_opts[@]}" -q source --download-only "$1") >"$2.log" 2>&1
}

# older_versions NAME: the versions of source package NAME in the indexes,
# newest first (Debian ordering), without the newest (the one apt tries first).
older_versions() {
  local all=() sorted=() v i
  mapfile -t all < <(apt-cache "${apt_opts[@]}" showsrc --only-source "$1" 2>/dev/null |
    sed -n 's/^Version:[[:space:]]*//p' | sort -u)
  for v in "${all[@]}"; do
    for ((i = ${#sorted[@]}; i > 0; i--)); do
      dpkg --compare-versions "${sorted[i - 1]}" ge "$v" && break
      sorted[i]=${sorted[i - 1]}
    done
    sorted[i]=$v
  done
  [[ ${#sorted[@]} -gt 1 ]] && printf '%s\n' "${sorted[@]:1}"
  return 0
}

# fetch SPEC: downloads one source package into a temporary directory, then
# renames it into place, so a reader never sees a partial package. When the
# newest version cannot be downloaded (an archive or mirror that does not serve
# every pool, e.g. a security archive's sources), older versions are tried.
fetch() {
  local spec=$1 name=${1%%=*} tmp dsc version v
  tmp=$(mktemp -d "$sources_dir/.tmp-$name.XXXXXX")
  log "$name: apt-get source --download-only $spec"
  if ! download "$spec" "$tmp"; then
    local ok=0
    if [[ $spec != *=* ]]; then
      for v in $(older_versions "$name"); do
        log "$name: $(grep -m1 -E '^(E|Err):' "$tmp.log" | cut -c1-100); trying $name=$v"
        rm -f "$tmp"/*
        if download "$name=$v" "$tmp"; then
          ok=1
          break
        fi
      done
    fi
    if [[ $ok == 0 ]]; then
      grep -E '^(E|W|Err):' "$tmp.log" >&2 || cat "$tmp.log" >&2
      rm -rf "$tmp" "$tmp.log"
      return 1
    fi
  fi
  rm -f "$tmp.log"
  dsc=$(find "$tmp" -maxdepth 1 -name '*.dsc' | head -n1)
  [[ -n $dsc ]] || die "$name: apt-get source downloaded no .dsc"
  version=$(sed -n 's/^Version:[[:space:]]*//p' "$dsc" | head -n1)
  printf '%s\n' "$version" >"$tmp/.complete"
  chmod 0755 "$tmp"
  rm -rf "${sources_dir:?}/$name"
  mv "$tmp" "$sources_dir/$name"
  log "$name: $version ($(du -sh "$sources_dir/$name" | cut -f1))"
}

write_index() {
  local dir name out=$sources_dir/index.json
  {
    printf '{'
    local sep=''
    for dir in "$sources_dir"/*/; do
      name=$(basename "$dir")
      [[ -f $dir/.complete ]] || continue
      printf '%s\n  "%s": {"version": "%s", "dsc": "%s", "files": [' "$sep" "$name" \
        "$(cat "$dir/.complete")" "$(basename "$(find "$dir" -maxdepth 1 -name '*.dsc' | head -n1)")"
      find "$dir" -maxdepth 1 -type f ! -name '.*' -printf '%f\n' | sort | sed 's/.*/"&"/' | paste -sd, - | sed 's/,/, /g' | tr -d '\n'
      printf ']}'
      sep=','
    done
    printf '\n}\n'
  } >"$out.tmp"
  mv "$out.tmp" "$out"
}

if [[ ${#missing[@]} -gt 0 ]]; then
  write_config
  sandbox_opts
  fresh=0
  if [[ ${KBUILD_LAB_SOURCES_REFRESH:-0} == 1 || ! -f $apt_dir/lists/.updated ]]; then
    update
    fresh=1
  fi
  failed=()
  for spec in "${missing[@]}"; do
    fetch "$spec" && continue
    if [[ $fresh == 0 ]]; then
      log "${spec%%=*}: failed with the cached indexes; refreshing them"
      update
      fresh=1
      fetch "$spec" && continue
    fi
    failed+=("${spec%%=*}")
  done
fi
write_index
log "index: $sources_dir/index.json"
[[ ${#failed[@]} -eq 0 ]] || die "could not fetch: ${failed[*]} (see above)"
echo "$sources_dir"
