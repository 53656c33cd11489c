#!/bin/sh
# run-pipeline.sh: runs one package definition (packages/NAME.yaml, melange's
# form) without melange: resolves its build-time dependencies, runs each
# `pipeline:` step's `runs:` script with `sh -e`, packs the installed tree,
# then runs the `test: pipeline:` steps against it.
#
#   sh run-pipeline.sh NAME            build packages/NAME.yaml
#   sh run-pipeline.sh --order         print every package, dependencies first
#   sh run-pipeline.sh --dump DIR NAME parse only: DIR/meta (records below),
#                                      DIR/build-N.sh and DIR/test-N.sh
#
# Supported YAML (a strict subset; anything else fails with file:line):
#   package: {name, version, epoch, description}  plain, '...' or "..." scalars
#   environment: contents: packages: [- NAME ...]  block sequences only
#   pipeline: [- {name, working-directory, runs}]  runs: a `|`, `|-` or `|+` block
#   test: pipeline: [- {name, working-directory, runs}]
#   Other keys (copyright, ...) are skipped. Not supported: `uses:`/`with:`
#   steps, flow collections ([a, b], {a: b}), anchors, tags, folded (>) blocks,
#   tabs in indentation, multi-document files.
# Substitutions in runs: ${{package.name}}, ${{package.version}},
# ${{package.epoch}}, ${{package.full-version}} (VERSION-rEPOCH),
# ${{targets.destdir}}, ${{targets.contextdir}}, ${{build.arch}}.
#
# Layout (WS = KBUILD_WORKSPACE, default: this script's directory, i.e.
# /workspace in a build pod):
#   WS/packages/NAME.yaml          the definitions
#   WS/host-packages.txt           build dependencies the image provides
#   WS/bin/                        helpers put on PATH (unpack-debian-source)
#   WS/sources/SRC/                staged Debian source packages; fallback:
#                                  $KBUILD_LAB_SOURCES/SRC/
#   WS/packages/ARCH/              artifacts: NAME-VERSION-rEPOCH.tar.gz of
#                                  the installed tree, plus what steps copy
#   WS/.kbuild/ARCH/NAME/          build/ (steps' working directory),
#                                  destdir/, deps/ (dependencies' trees)
#   WS/.kbuild/ARCH/repo/          dependencies built here because their
#                                  artifact was neither staged nor built
#                                  ($KBUILD_REPO overrides it: point it at a
#                                  build cache, e.g. /var/cache/kbuild/ARCH,
#                                  to keep dependencies between builds)
# A dependency that is a package of WS/packages is taken from
# packages/ARCH/ or .kbuild/ARCH/repo/, else built first into the latter,
# and unpacked into deps/ (CPATH, LIBRARY_PATH, LD_LIBRARY_PATH,
# PKG_CONFIG_PATH and PATH point into it). Any other dependency must be
# listed in host-packages.txt and its commands must exist.
#
# Steps see: KBUILD_PACKAGE, KBUILD_PACKAGE_VERSION, KBUILD_PACKAGE_EPOCH,
# KBUILD_ARCH (x86_64 or aarch64; from the environment, amd64/arm64 accepted,
# else uname -m), KBUILD_WORKSPACE, KBUILD_BUILD_DIR, KBUILD_DESTDIR,
# KBUILD_DEPS, KBUILD_ARTIFACTS_DIR, KBUILD_SOURCES (colon-separated search
# path), KBUILD_JOBS (default 2), SOURCE_DATE_EPOCH (default 0).
# KBUILD_TRACE=1 runs steps with `sh -ex`.
set -eu

log() { printf '[kbuild %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() {
  log "error: $*"
  exit 1
}

ws=${KBUILD_WORKSPACE:-$(CDPATH='' cd -- "$(dirname -- "$0")" && pwd)}
defs=$ws/packages
tab=$(printf '\t')

# The parser: prints records `KIND<TAB>VALUE...` on stdout and writes each
# step's script, substitutions applied, to STEPDIR/build-N.sh or test-N.sh.
# shellcheck disable=SC2016 # awk code, expanded by awk
parser='
function fail(msg) { printf "%s:%d: %s\n", FILENAME, NR, msg > "/dev/stderr"; bad = 1; exit 2 }
function unquote(v,   rest) {
  if (v ~ /^["\047]/) {
    if (v ~ /^"/ && !match(v, /^"([^"\\]|\\.)*"/)) fail("unterminated double-quoted scalar: " v)
    if (v ~ /^\047/ && !match(v, /^\047([^\047]|\047\047)*\047/)) fail("unterminated single-quoted scalar: " v)
    rest = substr(v, RLENGTH + 1)
    if (rest !~ /^[ \t]*(#.*)?$/) fail("text after a quoted scalar: " v)
    if (v ~ /^"/) { v = substr(v, 2, RLENGTH - 2); gsub(/\\"/, "\"", v); gsub(/\\\\/, "\\", v); return v }
    v = substr(v, 2, RLENGTH - 2); gsub(/\047\047/, "\047", v); return v
  }
  if (v ~ /^[\[{]/) fail("flow collections are not supported: " v)
  if (v ~ /^[&*!>]/) fail("anchors, aliases, tags and folded blocks are not supported: " v)
  sub(/[ \t]+#.*$/, "", v); sub(/[ \t]+$/, "", v)
  return v
}
function path(   i, p) { p = ""; for (i = 1; i <= depth; i++) p = p (i > 1 ? "." : "") nm[i]; return p }
function replace(s, from, to,   i, out) {
  out = ""
  while ((i = index(s, from)) > 0) { out = out substr(s, 1, i - 1) to; s = substr(s, i + length(from)) }
  return out s
}
function step(p,   kind, parts, n) {
  n = split(p, parts, ".")
  kind = parts[1] == "test" ? "test" : "build"
  sub(/^#/, "", parts[n - 1])
  cur_kind = kind; cur_step = parts[n - 1]
}
function scalar(p, v) {
  if (p ~ /^package\.(name|version|epoch|description)$/) print p "\t" v
  else if (p ~ /^environment\.contents\.packages\.#[0-9]+$/) print "dep\t" v
  else if (p ~ /^(test\.)?pipeline\.#[0-9]+$/) fail("a pipeline step must be a mapping with runs:")
  else if (p ~ /^(test\.)?pipeline\.#[0-9]+\.(name|working-directory)$/) {
    step(p); print "step-" (p ~ /\.name$/ ? "name" : "dir") "\t" cur_kind "\t" cur_step "\t" v
  } else if (p ~ /^(test\.)?pipeline\.#[0-9]+\.runs$/) fail("runs: must be a block scalar (runs: |)")
}
function key(n, c,   k, v) {
  while (depth > 0 && ind[depth] >= n) depth--
  k = c; sub(/:.*/, "", k)
  v = substr(c, length(k) + 2); sub(/^[ \t]+/, "", v)
  if (path() ~ /^(test\.)?pipeline\.#[0-9]+$/ && k !~ /^(name|runs|working-directory)$/)
    fail("unsupported step key \"" k "\": steps have name, runs and working-directory")
  depth++; ind[depth] = n; nm[depth] = k; item[depth] = 0
  if (v == "") return
  if (v ~ /^\|[-+]?[ \t]*(#.*)?$/) {
    if (path() !~ /^(test\.)?pipeline\.#[0-9]+\.runs$/) { skipblock = n; return }
    step(path()); inblock = 1; bcol = n; bind = -1; body = ""; blanks = ""; return
  }
  scalar(path(), unquote(v))
}
function endblock(   f) {
  inblock = 0
  body = replace(body, "${{package.name}}", "${KBUILD_PACKAGE}")
  body = replace(body, "${{package.version}}", "${KBUILD_PACKAGE_VERSION}")
  body = replace(body, "${{package.epoch}}", "${KBUILD_PACKAGE_EPOCH}")
  body = replace(body, "${{package.full-version}}", "${KBUILD_PACKAGE_VERSION}-r${KBUILD_PACKAGE_EPOCH}")
  body = replace(body, "${{targets.destdir}}", "${KBUILD_DESTDIR}")
  body = replace(body, "${{targets.contextdir}}", "${KBUILD_DESTDIR}")
  body = replace(body, "${{build.arch}}", "${KBUILD_ARCH}")
  if (index(body, "${{") > 0) { NR = bline; fail("unsupported substitution in runs: " substr(body, index(body, "${{"), 40)) }
  print "step\t" cur_kind "\t" cur_step
  if (stepdir != "") { f = stepdir "/" cur_kind "-" cur_step ".sh"; printf "%s", body > f; close(f) }
}
{
  if (skipblock >= 0) {
    if ($0 ~ /^[ ]*$/) next
    match($0, /^ */); if (RLENGTH > skipblock) next
    skipblock = -1
  }
  if (inblock) {
    if ($0 ~ /^[ ]*$/) { blanks = blanks "\n"; next }
    match($0, /^ */)
    if (RLENGTH > bcol) {
      if (bind < 0) { bind = RLENGTH; bline = NR }
      if (RLENGTH < bind) fail("less indented line inside a block scalar")
      body = body blanks substr($0, bind + 1) "\n"; blanks = ""; next
    }
    endblock()
  }
  line = $0
  if (line ~ /^[ ]*\t/) fail("tabs are not allowed in indentation")
  if (line ~ /^[ ]*(#.*)?$/ || line == "---") next
  if (line ~ /^(\.\.\.|---)/) fail("multi-document files are not supported")
  match(line, /^ */); n = RLENGTH; c = substr(line, n + 1)
  while (c ~ /^-([ ]|$)/) {
    while (depth > 0 && (ind[depth] > n || (ind[depth] == n && item[depth]))) depth--
    p = path(); cnt[p]++
    depth++; ind[depth] = n; nm[depth] = "#" cnt[p]; item[depth] = 1
    c = substr(c, 2); match(c, /^ */); n = n + 1 + RLENGTH; c = substr(c, RLENGTH + 1)
    if (c == "") next
  }
  if (c ~ /^[A-Za-z0-9_.-]+:([ ]|$)/) { key(n, c); next }
  if (depth > 0 && item[depth] && ind[depth] < n) { scalar(path(), unquote(c)); next }
  fail("unsupported line: " c)
}
BEGIN { skipblock = -1 }
END { if (!bad && inblock) endblock() }
'

# parse FILE STEPDIR: the records of FILE; steps written into STEPDIR ("" = none).
parse() { awk -v stepdir="$2" "$parser" "$1"; }

# field META NAME: the value of record NAME in META.
field() { awk -F "$tab" -v k="$2" '$1 == k { sub(/^[^\t]*\t/, ""); print; exit }' "$1"; }

# definition NAME: the definition file of package NAME, or "".
definition() { if [ -f "$defs/$1.yaml" ]; then echo "$defs/$1.yaml"; fi; }

normalize_arch() {
  case $1 in
    x86_64 | amd64) echo x86_64 ;;
    aarch64 | arm64) echo aarch64 ;;
    *) echo "$1" ;;
  esac
}

# order: every package of packages/, each after its package dependencies.
order() {
  for f in "$defs"/*.yaml; do
    [ -f "$f" ] || continue
    p=$(basename "$f" .yaml)
    echo "$p $p"
    parse "$f" "" | awk -F "$tab" '$1 == "dep" { print $2 }' | while read -r d; do
      [ -z "$(definition "$d")" ] || echo "$d $p"
    done
  done | tsort
}

# host_package NAME: checks that the commands of host package NAME exist.
host_package() {
  cmds=$(awk -v n="$1" '$1 == n { $1 = ""; print; found = 1 } END { exit !found }' "$ws/host-packages.txt" 2>/dev/null) ||
    die "unknown build dependency \"$1\": not a package in $defs and not listed in $ws/host-packages.txt"
  for c in $cmds; do
    command -v "$c" >/dev/null 2>&1 || die "build dependency \"$1\" needs the command \"$c\", which this image does not have"
  done
}

# dependency NAME: puts the installed tree of package NAME into $deps,
# building NAME first into the private repository when no artifact exists.
dependency() {
  dmeta=$work/dep-$1.meta
  parse "$(definition "$1")" "" >"$dmeta"
  dfile=$1-$(field "$dmeta" package.version)-r$(field "$dmeta" package.epoch).tar.gz
  for dir in "$ws/packages/$arch" "$repo"; do
    if [ -f "$dir/$dfile" ]; then
      log "$name: dependency $1 from $dir/$dfile"
      tar -xzf "$dir/$dfile" -C "$deps"
      return 0
    fi
  done
  log "$name: dependency $1 has no artifact in packages/$arch: building it first"
  KBUILD_ARTIFACTS_DIR=$repo KBUILD_CHAIN="$chain" sh "$0" "$1"
  tar -xzf "$repo/$dfile" -C "$deps"
}

# pack: the installed tree as ARTIFACTS/NAME-VERSION-rEPOCH.tar.gz, files in
# name order, owned by 0:0, mtime SOURCE_DATE_EPOCH (GNU tar; plain tar else).
pack() {
  out=$KBUILD_ARTIFACTS_DIR/$name-$version-r$epoch.tar.gz
  if tar --version 2>/dev/null | grep -q GNU; then
    tar -C "$KBUILD_DESTDIR" --sort=name --owner=0 --group=0 --numeric-owner \
      --mtime="@$SOURCE_DATE_EPOCH" -cf - . | gzip -n >"$out.tmp"
  else
    tar -C "$KBUILD_DESTDIR" -cf - . | gzip -n >"$out.tmp"
  fi
  mv "$out.tmp" "$out"
  log "$name: packed $(wc -c <"$out" | tr -d ' ') bytes into $out"
}

# run_steps KIND: runs every KIND (build or test) step in order; a failing
# step ends the build with its exit status.
run_steps() {
  total=$(awk -F "$tab" -v k="$1" '$1 == "step" && $2 == k' "$meta" | wc -l | tr -d ' ')
  i=0
  # shellcheck disable=SC2013 # step numbers
  for n in $(awk -F "$tab" -v k="$1" '$1 == "step" && $2 == k { print $3 }' "$meta"); do
    i=$((i + 1))
    title=$(awk -F "$tab" -v k="$1" -v n="$n" '$1 == "step-name" && $2 == k && $3 == n { print $4 }' "$meta")
    dir=$(awk -F "$tab" -v k="$1" -v n="$n" '$1 == "step-dir" && $2 == k && $3 == n { print $4 }' "$meta")
    case $dir in
      '') dir=$KBUILD_BUILD_DIR ;;
      /*) ;;
      *) dir=$KBUILD_BUILD_DIR/$dir ;;
    esac
    log "$name: $1 step $i/$total: ${title:-(unnamed)}"
    status=0
    (cd "$dir" && sh -e${KBUILD_TRACE:+x} "$work/$1-$n.sh") || status=$?
    if [ "$status" != 0 ]; then
      log "error: $name: $1 step $i/$total \"${title:-(unnamed)}\" failed with exit status $status"
      exit "$status"
    fi
  done
}

case ${1:-} in
  --order)
    order
    exit 0
    ;;
  --dump)
    [ $# = 3 ] || die "usage: run-pipeline.sh --dump DIR NAME"
    f=$(definition "$3")
    [ -n "$f" ] || die "no package definition $defs/$3.yaml"
    mkdir -p "$2"
    parse "$f" "$2" >"$2/meta"
    exit 0
    ;;
  '' | -*) die "usage: run-pipeline.sh NAME | --order | --dump DIR NAME" ;;
esac

name=$1
file=$(definition "$name")
[ -n "$file" ] || die "no package definition $defs/$name.yaml (packages: $(order | tr '\n' ' ' | sed 's/ $//'))"
case " ${KBUILD_CHAIN:-} " in
  *" $name "*) die "dependency cycle: ${KBUILD_CHAIN# } $name" ;;
esac
chain="${KBUILD_CHAIN:-} $name"

arch=$(normalize_arch "${KBUILD_ARCH:-$(uname -m)}")
repo=${KBUILD_REPO:-$ws/.kbuild/$arch/repo}
root=$ws/.kbuild/$arch/$name
rm -rf "$root"
mkdir -p "$root/build" "$root/destdir" "$root/deps" "$root/pipeline"
work=$root/pipeline deps=$root/deps meta=$root/pipeline/meta
parse "$file" "$work" >"$meta" || die "$file: not a supported package definition (see run-pipeline.sh)"

version=$(field "$meta" package.version)
epoch=$(field "$meta" package.epoch)
[ "$(field "$meta" package.name)" = "$name" ] || die "$file: package.name must be \"$name\""
[ -n "$version" ] || die "$file: package.version is missing"
epoch=${epoch:-0}

unset MAKEFLAGS MFLAGS MAKELEVEL MAKEOVERRIDES
export KBUILD_PACKAGE="$name" KBUILD_PACKAGE_VERSION="$version" KBUILD_PACKAGE_EPOCH="$epoch"
export KBUILD_ARCH="$arch" KBUILD_WORKSPACE="$ws" KBUILD_DEPS="$deps"
export KBUILD_BUILD_DIR="$root/build" KBUILD_DESTDIR="$root/destdir"
export KBUILD_ARTIFACTS_DIR="${KBUILD_ARTIFACTS_DIR:-$ws/packages/$arch}"
export KBUILD_SOURCES="$ws/sources${KBUILD_LAB_SOURCES:+:$KBUILD_LAB_SOURCES}"
export KBUILD_JOBS="${KBUILD_JOBS:-2}" SOURCE_DATE_EPOCH="${SOURCE_DATE_EPOCH:-0}"
mkdir -p "$KBUILD_ARTIFACTS_DIR"

log "$name: $version-r$epoch for $arch ($file)"
# A for loop, not `while read`: a dependency's build must not read this stdin.
# shellcheck disable=SC2013 # package names are single words
for d in $(awk -F "$tab" '$1 == "dep" { print $2 }' "$meta"); do
  if [ -n "$(definition "$d")" ]; then
    dependency "$d"
  else
    host_package "$d"
  fi
done
export PATH="$ws/bin:$deps/usr/bin:$PATH"
export CPATH="$deps/usr/include${CPATH:+:$CPATH}"
export LIBRARY_PATH="$deps/usr/lib${LIBRARY_PATH:+:$LIBRARY_PATH}"
export LD_LIBRARY_PATH="$deps/usr/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
export PKG_CONFIG_PATH="$deps/usr/lib/pkgconfig:$deps/usr/share/pkgconfig${PKG_CONFIG_PATH:+:$PKG_CONFIG_PATH}"

started=$(date +%s)
run_steps build
pack
if grep -q "^step${tab}test" "$meta"; then
  (
    export PATH="$KBUILD_DESTDIR/usr/bin:$PATH" LD_LIBRARY_PATH="$KBUILD_DESTDIR/usr/lib:$LD_LIBRARY_PATH"
    run_steps test
  )
fi
log "$name: done in $(($(date +%s) - started))s; artifacts in $KBUILD_ARTIFACTS_DIR"
