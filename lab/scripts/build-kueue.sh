#!/usr/bin/env bash
# build-kueue.sh: builds the Kueue controller from the pinned Go module
# sigs.k8s.io/kueue ($KBUILD_LAB_KUEUE_VERSION) into the lab's binary cache,
# outside the repository, keyed by version:
#
#   $KBUILD_LAB_KUEUE_DIR/kueue                  the controller (cmd/kueue)
#   $KBUILD_LAB_KUEUE_DIR/crd/                   config/components/crd: the CRDs (bases/)
#                                                and their conversion webhook patches
#   $KBUILD_LAB_KUEUE_DIR/webhook/manifests.yaml config/components/webhook/manifests.yaml
#   $KBUILD_LAB_KUEUE_DIR/rbac/*.yaml            config/components/rbac: the ClusterRole and
#                                                the Role for Secrets in Kueue's namespace
#   $KBUILD_LAB_KUEUE_DIR/.complete              written last
#
# The manifests come from the same module version as the binary (the module
# cache holds its whole source tree); lab/kueue/manifests.ts adapts them to the
# lab. A second run finds everything and returns at once; a cache missing a
# manifest this script now copies gets it without recompiling. Concurrent runs
# wait for each other on a lock.
#
# Prints the cache directory on the last line of stdout; progress goes to stderr.
set -euo pipefail

# shellcheck source=SCRIPTDIR/versions.sh
source "$(dirname "$0")/versions.sh"

log() { printf '[lab kueue %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

out_dir="$KBUILD_LAB_KUEUE_DIR"
# manifests: what is copied from the module's config/components.
manifests=(crd/kustomization.yaml crd/bases crd/patches webhook/manifests.yaml rbac/role.yaml
  rbac/manager_secrets_role.yaml)
cached() {
  [[ -f $out_dir/.complete ]] || return 1
  local f
  for f in "${manifests[@]}"; do [[ -e $out_dir/$f ]] || return 1; done
}
if cached; then
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
if cached; then
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
stage="$work/out"
for f in "${manifests[@]}"; do
  [[ -e $components/$f ]] || { log "$components/$f is missing from the module source"; exit 1; }
  mkdir -p "$stage/$(dirname "$f")"
  cp -r "$components/$f" "$stage/$f"
done
chmod -R u+w "$stage"
log "copied $(find "$stage/crd/bases" -name '*.yaml' | wc -l) CRDs, the webhook configurations and the RBAC from $src"

if [[ -f $out_dir/.complete && -x $out_dir/kueue ]]; then
  log "reusing the compiled kueue of $out_dir"
  cp "$out_dir/kueue" "$stage/kueue"
else
  log "compiling kueue (about 6-7 min on 2 idle cores, 20 min under load; peaks near 2 GB of memory)"
  t=$SECONDS
  (
    cd "$work"
    go build -trimpath -ldflags "-s -w -X $module/pkg/version.GitVersion=$KBUILD_LAB_KUEUE_VERSION" \
      -o "$stage/kueue" "$module/cmd/kueue"
  )
  log "compiled kueue in $((SECONDS - t))s ($(du -h "$stage/kueue" | cut -f1))"
fi

rm -rf "$out_dir"
mv "$stage" "$out_dir"
date -u +%FT%TZ >"$out_dir/.complete"
log "done in $((SECONDS - started))s; $(du -sh "$out_dir" | cut -f1) in $out_dir"
echo "$out_dir"
