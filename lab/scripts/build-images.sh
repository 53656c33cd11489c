#!/usr/bin/env bash
# build-images.sh: builds the root filesystems of the lab's container images
# (lab/images/catalogue.json, docs/lab.md section Images) from Debian's packages
# with mmdebstrap, one per image and architecture, into a cache outside the
# repository:
#
#   $KBUILD_LAB_CACHE/images/<slug>-<arch>-<key>/rootfs/      the image's files
#   $KBUILD_LAB_CACHE/images/<slug>-<arch>-<key>/image.json   name, architecture,
#                                                             digest, build time
#   $KBUILD_LAB_CACHE/images/<slug>-<arch>-<key>/.complete    written last
#   $KBUILD_LAB_CACHE/images/index-<hash>.json                every image of the
#                                                             catalogue: the file
#                                                             lab/runtime reads
#
#   lab/scripts/build-images.sh [--arch ARCH] [IMAGE ...]   (default: all of them)
#
# <key> is a hash of everything that decides the content: the builder version,
# the suite, the variant, the architecture, the package list and the versions
# of the extras (the Node binary, the host's Google Cloud SDK). A cached image
# is never rebuilt; change the catalogue and a new key is built next to it.
#
# The digest (sha256:...) is taken from the content: a tar stream of rootfs/
# with names sorted, numeric owners and every mtime set to 0, so it does not
# depend on when the image was built or on the order of the directory entries.
#
# The archive's address comes from the machine's apt configuration: its `deb`
# entries for the image's suite (and SUITE-updates, SUITE-security) are passed
# to mmdebstrap; nothing here names a host. Foreign architectures (arm64 on an
# amd64 machine) run their maintainer scripts through qemu-user-static, which
# must be registered in binfmt_misc (lab/scripts/binfmt.sh).
#
# Runs concurrently with itself: a second run waits for the lock. Progress on
# stderr; the index file on the last line of stdout.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
# shellcheck source=lab/scripts/versions.sh
source "$here/versions.sh"

log() { printf '[lab images %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() {
  log "error: $*"
  exit 1
}

catalogue=${KBUILD_LAB_CATALOGUE:-$root/lab/images/catalogue.json}
images_dir=$KBUILD_LAB_CACHE/images
etc_dir=${KBUILD_LAB_APT_ETC:-/etc/apt}
only_arch=
wanted=()
while (($#)); do
  case $1 in
    --arch)
      only_arch=${2:?--arch needs amd64 or arm64}
      shift 2
      ;;
    -*) die "unknown option $1 (usage: build-images.sh [--arch ARCH] [IMAGE ...])" ;;
    *)
      wanted+=("$1")
      shift
      ;;
  esac
done

for tool in mmdebstrap jq sha256sum flock; do
  command -v "$tool" >/dev/null || die "$tool is missing: run lab/scripts/prereqs.sh (as root) first"
done
[[ -f $catalogue ]] || die "no catalogue at $catalogue"
jq -e '.images | type == "array"' "$catalogue" >/dev/null || die "$catalogue: .images must be an array"

mkdir -p "$images_dir"
exec 9>"$images_dir/.lock"
if ! flock -n 9; then
  log "waiting for another build-images.sh (lock $images_dir/.lock)"
  flock 9
fi
rm -rf "$images_dir"/.tmp-*

builder_version=$(jq -r '.builderVersion' "$catalogue")
native_arch=$(dpkg --print-architecture)

# node_version: the version of the npm package node in node_modules (the Node
# binary of node:* images).
node_version() { jq -r .version "$root/node_modules/node/package.json" 2>/dev/null || echo none; }
gcloud_version() { cat /usr/lib/google-cloud-sdk/VERSION 2>/dev/null || echo none; }

# extras_versions IMAGE_JSON: "node=V gcloud-sdk=V" for the extras the image uses.
extras_versions() {
  local e parts=()
  for e in $(jq -r '.extras // [] | .[]' <<<"$1"); do
    case $e in
      node) parts+=("node=$(node_version)") ;;
      gcloud-sdk) parts+=("gcloud-sdk=$(gcloud_version)") ;;
      *) die "unknown extra \"$e\" in $catalogue (known: node, gcloud-sdk)" ;;
    esac
  done
  echo "${parts[*]}"
}

# image_key IMAGE_JSON ARCH: 16 hex digits of sha256 over everything that
# decides the content.
image_key() {
  jq -cS --arg arch "$2" --arg bv "$builder_version" --arg extras "$(extras_versions "$1")" \
    '{builderVersion: $bv, suite, variant, packages: (.packages | sort), extras: $extras, arch: $arch}' <<<"$1" |
    sha256sum | cut -c1-16
}

slug() { tr -c 'a-zA-Z0-9.\n' '-' <<<"$1" | sed 's/--*/-/g; s/^-//; s/-$//'; }

# sources_for SUITE FILE: writes the host's deb entries for SUITE, SUITE-updates
# and SUITE-security as a deb822 file (mmdebstrap pastes an existing file into
# the chroot's sources and uses it to download).
sources_for() {
  local suite=$1 out=$2 f
  : >"$out"
  for f in "$etc_dir"/sources.list.d/*.sources; do
    [[ -f $f ]] || continue
    awk -v suite="$suite" '
      function flush() {
        if (n > 0 && isdeb && keep != "") {
          for (i = 1; i <= n; i++) print lines[i]
          print "Suites: " keep; print ""
        }
        n = 0; isdeb = 0; keep = ""
      }
      /^[ \t]*$/ { flush(); next }
      /^#/ { next }
      tolower($0) ~ /^types:/ {
        v = $0; sub(/^[^:]*:[ \t]*/, "", v)
        if ((" " v " ") ~ /[ \t]deb[ \t]/) isdeb = 1
        lines[++n] = "Types: deb"; next
      }
      tolower($0) ~ /^suites:/ {
        v = $0; sub(/^[^:]*:[ \t]*/, "", v); c = split(v, s, /[ \t]+/)
        for (i = 1; i <= c; i++)
          if (s[i] == suite || index(s[i], suite "-") == 1) keep = keep (keep == "" ? "" : " ") s[i]
        next
      }
      tolower($0) ~ /^architectures:/ { next }
      { lines[++n] = $0 }
      END { flush() }
    ' "$f" >>"$out"
  done
  for f in "$etc_dir/sources.list" "$etc_dir"/sources.list.d/*.list; do
    [[ -f $f ]] || continue
    # One-line entries: drop an [arch=...] option, keep the others.
    awk -v suite="$suite" '
      $1 == "deb" {
        line = $0; sub(/arch=[^] \t]*[ \t]*/, "", line); sub(/\[[ \t]*\]/, "", line)
        m = split(line, w, /[ \t]+/); i = 2
        if (w[2] ~ /^\[/) { while (i <= m && w[i] !~ /\]$/) i++; i++ }
        if (w[i + 1] == suite || index(w[i + 1], suite "-") == 1) print line
      }
    ' "$f" >"$out.list.tmp"
    if [[ -s $out.list.tmp ]]; then
      # mmdebstrap takes one format per file: one-line entries go in their own.
      cat "$out.list.tmp" >>"$out.list"
    fi
    rm -f "$out.list.tmp"
  done
  [[ -s $out || -s $out.list ]] || die "no deb entries for suite $suite in $etc_dir/sources.list or $etc_dir/sources.list.d"
}

# node_binary ARCH: the path of the Node binary for ARCH (npm package node for
# the machine's own architecture, else node-linux-<arch> from the npm registry,
# cached).
node_binary() {
  local arch=$1 version npm_arch dir
  version=$(node_version)
  [[ $version != none ]] || die "node_modules/node is missing: run npm ci first"
  case $arch in amd64) npm_arch=x64 ;; arm64) npm_arch=arm64 ;; *) die "no Node binary for $arch" ;; esac
  if [[ $arch == "$native_arch" && -x $root/node_modules/node/bin/node ]]; then
    echo "$root/node_modules/node/bin/node"
    return
  fi
  dir=$KBUILD_LAB_CACHE/node/node-linux-$npm_arch-$version
  if [[ ! -x $dir/bin/node ]]; then
    log "npm pack node-linux-$npm_arch@$version (the Node binary for $arch)"
    rm -rf "$dir.tmp" && mkdir -p "$dir.tmp"
    (cd "$dir.tmp" && npm pack --silent "node-linux-$npm_arch@$version" >/dev/null) ||
      die "npm pack node-linux-$npm_arch@$version failed"
    tar -xzf "$dir.tmp"/*.tgz -C "$dir.tmp"
    rm -rf "$dir" && mv "$dir.tmp/package" "$dir" && rm -rf "$dir.tmp"
  fi
  echo "$dir/bin/node"
}

# add_extras IMAGE_JSON ARCH ROOTFS
add_extras() {
  local e rootfs=$3 sdk=/usr/lib/google-cloud-sdk b
  for e in $(jq -r '.extras // [] | .[]' <<<"$1"); do
    case $e in
      node)
        install -m 0755 "$(node_binary "$2")" "$rootfs/usr/local/bin/node"
        ;;
      gcloud-sdk)
        [[ -f $sdk/VERSION ]] || die "the Google Cloud SDK is not installed in $sdk (Debian package google-cloud-cli)"
        [[ $2 == "$native_arch" ]] || die "gcloud-sdk: the host's SDK holds $native_arch programs; it cannot go into a $2 image"
        # Hard links: the SDK is about 2 GB and the image is read-only.
        cp -al "$sdk" "$rootfs/usr/lib/" 2>/dev/null || cp -a "$sdk" "$rootfs/usr/lib/"
        for b in gcloud gsutil bq; do ln -sf "../lib/google-cloud-sdk/bin/$b" "$rootfs/usr/bin/$b"; done
        ;;
    esac
  done
}

# digest ROOTFS: sha256 of the content (see the header).
digest() {
  (cd "$1" && tar --sort=name --numeric-owner --owner=0 --group=0 --mtime=@0 --format=gnu -cf - .) |
    sha256sum | cut -d' ' -f1
}

# can_run ARCH: true when ARCH is this machine's or binfmt.sh has its
# emulator registered; otherwise its images are skipped (and the runtime
# fails that architecture's pods with an event saying why).
declare -A runnable=()
can_run() {
  if [[ -z ${runnable[$1]:-} ]]; then
    runnable[$1]=yes
    if [[ $1 != "$native_arch" ]] && ! bash "$here/binfmt.sh"; then
      runnable[$1]=no
      log "skipping the $1 images: $1 code cannot run here (see the line above)"
    fi
  fi
  [[ ${runnable[$1]} == yes ]]
}

index_entries=()
failed=()
started=$SECONDS
count=$(jq '.images | length' "$catalogue")
for ((i = 0; i < count; i++)); do
  img=$(jq -c ".images[$i]" "$catalogue")
  name=$(jq -r .name <<<"$img")
  if ((${#wanted[@]})); then
    match=0
    for w in "${wanted[@]}"; do
      jq -e --arg w "$w" '.name == $w or ((.aliases // []) | index($w) != null)' <<<"$img" >/dev/null && match=1
    done
    ((match)) || continue
  fi
  for arch in $(jq -r '.architectures[]' <<<"$img"); do
    [[ -z $only_arch || $arch == "$only_arch" ]] || continue
    can_run "$arch" || continue
    dir=$images_dir/$(slug "$name")-$arch-$(image_key "$img" "$arch")
    if [[ -f $dir/.complete ]]; then
      log "$name ($arch): cached, $(jq -r .digest "$dir/image.json")"
    else
      t=$SECONDS
      tmp=$(mktemp -d "$images_dir/.tmp-XXXXXX")
      suite=$(jq -r .suite <<<"$img")
      sources_for "$suite" "$tmp/sources"
      mirrors=()
      [[ -s $tmp/sources ]] && mirrors+=("$tmp/sources")
      [[ -s $tmp/sources.list ]] && mirrors+=("$tmp/sources.list")
      include=$(jq -r '.packages | join(",")' <<<"$img")
      note=
      [[ $arch == "$native_arch" ]] || note=" (emulated $arch: several minutes, up to half an hour on a busy machine)"
      log "$name ($arch): mmdebstrap --variant=$(jq -r .variant <<<"$img")${include:+ --include=$include} $suite$note"
      args=(--quiet --variant="$(jq -r .variant <<<"$img")" --architectures="$arch" --components=main)
      [[ -n $include ]] && args+=(--include="$include")
      if ! mmdebstrap "${args[@]}" "$suite" "$tmp/rootfs" "${mirrors[@]}" >"$tmp.log" 2>&1; then
        tail -n 20 "$tmp.log" >&2
        log "$name ($arch): mmdebstrap failed (log above)"
        failed+=("$name ($arch)")
        rm -rf "$tmp"
        continue
      fi
      add_extras "$img" "$arch" "$tmp/rootfs"
      # Docker's images have no apt lists and no machine id; neither does ours.
      rm -rf "$tmp/rootfs"/var/lib/apt/lists/* "$tmp/rootfs"/var/cache/apt/*.bin
      : >"$tmp/rootfs/etc/machine-id"
      d=$(digest "$tmp/rootfs")
      jq -n --argjson img "$img" --arg arch "$arch" --arg digest "sha256:$d" \
        --arg built "$(date -u +%FT%TZ)" --argjson seconds $((SECONDS - t)) \
        --argjson size "$(du -sb "$tmp/rootfs" | cut -f1)" \
        '{name: $img.name, aliases: ($img.aliases // []), architecture: $arch, digest: $digest, size: $size, built: $built, buildSeconds: $seconds}' \
        >"$tmp/image.json"
      rm -rf "$dir"
      mv "$tmp" "$dir"
      rm -f "$tmp.log"
      date -u +%FT%TZ >"$dir/.complete"
      log "$name ($arch): built in $((SECONDS - t))s, $(du -sh "$dir/rootfs" | cut -f1), sha256:${d:0:12}"
    fi
    index_entries+=("$(jq -c --arg rootfs "$dir/rootfs" '. + {rootfs: $rootfs}' "$dir/image.json")")
  done
done

if ((${#failed[@]})); then
  die "not built: ${failed[*]}"
fi
index=$images_dir/index-$(cat "$catalogue" <(printf '%s\n' "${wanted[@]}" "$only_arch") | sha256sum | cut -c1-16).json
printf '%s\n' "${index_entries[@]}" | jq -s '{images: .}' >"$index.tmp"
mv "$index.tmp" "$index"
log "done in $((SECONDS - started))s; $(du -sh "$images_dir" 2>/dev/null | cut -f1) in $images_dir"
echo "$index"
