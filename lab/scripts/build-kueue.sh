#!/usr/bin/env bash
# build-kueue.sh: builds the Kueue controller from the pinned Go module
# sigs.k8s.io/kueue ($KBUILD_LAB_KUEUE_VERSION) into the lab's binary cache,
# outside the repository, keyed by version:
#
#   $KBUILD_LAB_KUEUE_DIR/kueue                  the controller (cmd/kueue)
#   $KBUILD_LAB_KUEUE_DIR/crd/                   config/components/crd: the CRDs (bases/)
#                                                and their conversion webhook patches
#   $KBUILD_LAB_KUEUE_DIR/webhook/manifests.yaml config/components/webhook/manifests.yaml
#   $KBUILD_LAB_KUEUE_DIR/rbac/role.yaml         config/components/rbac/role.yaml
#   $KBUILD_LAB_KUEUE_DIR/.complete              written last
#
# The manifests come from the same module version as the binary (the module
# cache holds its whole source tree); lab/kueue/manifests.ts adapts them to the
# lab. A second run finds .complete and returns
# at once; concurrent runs wait for each other on a lock.
#
# Prints the cache directory on the last line of stdout; progress goes to stderr.
set -euo pipefail

# shellcheck source=SCRIPTDIR/versions.sh
source "$(dirname "$0")/versions.sh"

log() { printf '[lab kueue %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

out_dir="$KBUILD_LAB_KUEUE_DIR"
if [[ -f "$out_dir/.complete" ]]; then
  echo "$out_dir"
  exit 0
fi
command -v go >/dev/null || { log "go is not installed (Go 1.26 or later is needed)"; exit 1; }

mkdir -p "$(dirname "$out_dir")"
exec 9>"$out_dir.lock"
if ! flock -n 9; then
  log "another build of kueue $KBUILD_LAB_KUEUE_VERSION is running; waiting for it"
  flock 9
fi
if [[ -f "$out_dir/.complete" ]]; then
  echo "$out_dir"
  exit 0
fi

export CGO_ENABLED=0 GOFLAGS=-mod=mod GOTOOLCHAIN=local
work=$(mktemp -d "${TMPDIR:-/tmp}/kbuild-lab-kueue.XXXXXX")
trap 'rm -rf "$work"' EXIT
started=$SECONDS
module=sigs.k8s.io/kueue

log "$module $KBUILD_LAB_KUEUE_VERSION: resolving modules (downloads from the Go module proxy on the first run)"
(
  cd "$work"
  printf 'module kbuild.dev/lab/kueue\n\ngo 1.26\n' >go.mod
  # `go get MODULE` alone leaves go.sum without the entries of cmd/kueue's
  # imports (missing go.sum entry ... go.uber.org/zap); getting the command
  # package records them.
  go get "$module@$KBUILD_LAB_KUEUE_VERSION" "$module/cmd/kueue@$KBUILD_LAB_KUEUE_VERSION" 2>"$work/get.log" ||
    { cat "$work/get.log" >&2; exit 1; }
)

src=$(cd "$work" && go mod download -json "$module@$KBUILD_LAB_KUEUE_VERSION" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",*$/\1/p')
components="$src/config/components"
for f in crd/kustomization.yaml crd/bases crd/patches webhook/manifests.yaml rbac/role.yaml; do
  [[ -e $components/$f ]] || { log "$components/$f is missing from the module source"; exit 1; }
done

stage="$work/out"
mkdir -p "$stage/webhook" "$stage/rbac"
cp -r "$components/crd" "$stage/crd"
cp "$components/webhook/manifests.yaml" "$stage/webhook/"
cp "$components/rbac/role.yaml" "$stage/rbac/"
chmod -R u+w "$stage"
log "copied $(find "$stage/crd/bases" -name '*.yaml' | wc -l) CRDs, the webhook configurations and the ClusterRole from $src"

log "compiling kueue (about 6-7 min on 2 idle cores, longer under load; peaks near 2 GB of memory)"
t=$SECONDS
(
  cd "$work"
  go build -trimpath -ldflags "-s -w -X $module/pkg/version.GitVersion=$KBUILD_LAB_KUEUE_VERSION" \
    -o "$stage/kueue" "$module/cmd/kueue"
)
log "compiled kueue in $((SECONDS - t))s ($(du -h "$stage/kueue" | cut -f1))"

rm -rf "$out_dir"
mv "$stage" "$out_dir"
date -u +%FT%TZ >"$out_dir/.complete"
log "done in $((SECONDS - started))s; $(du -sh "$out_dir" | cut -f1) in $out_dir"
echo "$out_dir"
