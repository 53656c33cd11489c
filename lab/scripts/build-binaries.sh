#!/usr/bin/env bash
# build-binaries.sh: builds the lab's control plane from pinned upstream Go
# modules into a cache outside the repository, keyed by version. A second run
# finds the cache and returns at once.
#
#   kube-apiserver, kube-controller-manager, kube-scheduler, kubectl
#                         k8s.io/kubernetes  $KBUILD_LAB_K8S_VERSION
#   etcd, etcdctl         go.etcd.io/etcd    $KBUILD_LAB_ETCD_VERSION
#   kwok                  sigs.k8s.io/kwok   $KBUILD_LAB_KWOK_VERSION
#
# k8s.io/kubernetes cannot be `go install`ed: its go.mod replaces the staging
# modules (k8s.io/api, ...) with local paths. The known way, used here, is a
# small wrapper module that requires k8s.io/kubernetes and replaces each
# staging module with its published v0.X.Y.
#
# Prints the cache's bin directory on the last line of stdout.
set -euo pipefail

# shellcheck source=lab/scripts/versions.sh
source "$(dirname "$0")/versions.sh"

log() { printf '[lab build %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

bin_dir="$KBUILD_LAB_BIN"
if [[ -f "$bin_dir/.complete" ]]; then
  echo "$bin_dir"
  exit 0
fi

export CGO_ENABLED=0 GOFLAGS=-mod=mod GOTOOLCHAIN=local
work=$(mktemp -d "${TMPDIR:-/tmp}/kbuild-lab-build.XXXXXX")
trap 'rm -rf "$work"' EXIT
out="$work/bin"
mkdir -p "$out"
started=$SECONDS

# wrapper MODULE_DIR NAME: starts a wrapper module.
wrapper() {
  mkdir -p "$work/$1"
  printf 'module kbuild.dev/lab/%s\n\ngo 1.26\n' "$1" >"$work/$1/go.mod"
}

k8s_minor=${KBUILD_LAB_K8S_VERSION#v1.}
staging_version="v0.${k8s_minor}"
log "k8s.io/kubernetes $KBUILD_LAB_K8S_VERSION (staging modules $staging_version)"
wrapper k8s
(
  cd "$work/k8s"
  go mod edit -require="k8s.io/kubernetes@$KBUILD_LAB_K8S_VERSION"
  gomod=$(go mod download -json "k8s.io/kubernetes@$KBUILD_LAB_K8S_VERSION" | sed -n 's/.*"GoMod": "\(.*\)".*/\1/p')
  # Every `k8s.io/X => ./staging/src/k8s.io/X` becomes `k8s.io/X => k8s.io/X v0.N.P`.
  sed -n 's#^[[:space:]]*\(k8s.io/[a-z0-9-]*\) => ./staging/src/.*#\1#p' "$gomod" | while read -r mod; do
    go mod edit -replace="$mod=$mod@$staging_version"
  done
  printf 'package tools\n\nimport (\n\t_ "k8s.io/kubernetes/cmd/kube-apiserver"\n\t_ "k8s.io/kubernetes/cmd/kube-controller-manager"\n\t_ "k8s.io/kubernetes/cmd/kube-scheduler"\n\t_ "k8s.io/kubernetes/cmd/kubectl"\n)\n' >tools.go
  sed -i '1s/^/\/\/go:build tools\n\n/' tools.go
  log "resolving modules (downloads from the Go module proxy on the first run)"
  go mod tidy -e >/dev/null 2>"$work/tidy.log" || { cat "$work/tidy.log" >&2; exit 1; }
  ldflags="-s -w"
  for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    ldflags+=" -X $pkg.gitVersion=$KBUILD_LAB_K8S_VERSION -X $pkg.gitMajor=1 -X $pkg.gitMinor=${k8s_minor%%.*}"
    ldflags+=" -X $pkg.gitTreeState=clean -X $pkg.buildDate=1970-01-01T00:00:00Z"
  done
  for cmd in kube-apiserver kube-controller-manager kube-scheduler kubectl; do
    t=$SECONDS
    log "compiling $cmd (the first one is the slowest: about 10-20 min on 2 cores)"
    go build -trimpath -ldflags "$ldflags" -o "$out/$cmd" "k8s.io/kubernetes/cmd/$cmd"
    log "compiled $cmd in $((SECONDS - t))s"
  done
)

log "go.etcd.io/etcd $KBUILD_LAB_ETCD_VERSION"
wrapper etcd
(
  cd "$work/etcd"
  go mod edit -require="go.etcd.io/etcd/server/v3@$KBUILD_LAB_ETCD_VERSION" -require="go.etcd.io/etcd/etcdctl/v3@$KBUILD_LAB_ETCD_VERSION"
  printf '//go:build tools\n\npackage tools\n\nimport (\n\t_ "go.etcd.io/etcd/server/v3"\n\t_ "go.etcd.io/etcd/etcdctl/v3"\n)\n' >tools.go
  go mod tidy -e >/dev/null 2>"$work/tidy.log" || { cat "$work/tidy.log" >&2; exit 1; }
  t=$SECONDS
  go build -trimpath -ldflags "-s -w" -o "$out/etcd" go.etcd.io/etcd/server/v3
  go build -trimpath -ldflags "-s -w" -o "$out/etcdctl" go.etcd.io/etcd/etcdctl/v3
  log "compiled etcd in $((SECONDS - t))s"
)

log "sigs.k8s.io/kwok $KBUILD_LAB_KWOK_VERSION"
wrapper kwok
(
  cd "$work/kwok"
  go mod edit -require="sigs.k8s.io/kwok@$KBUILD_LAB_KWOK_VERSION"
  printf '//go:build tools\n\npackage tools\n\nimport _ "sigs.k8s.io/kwok/cmd/kwok"\n' >tools.go
  go mod tidy -e >/dev/null 2>"$work/tidy.log" || { cat "$work/tidy.log" >&2; exit 1; }
  t=$SECONDS
  go build -trimpath -ldflags "-s -w -X sigs.k8s.io/kwok/pkg/consts.Version=$KBUILD_LAB_KWOK_VERSION" -o "$out/kwok" sigs.k8s.io/kwok/cmd/kwok
  log "compiled kwok in $((SECONDS - t))s"
)

mkdir -p "$(dirname "$bin_dir")"
rm -rf "$bin_dir"
mv "$out" "$bin_dir"
date -u +%FT%TZ >"$bin_dir/.complete"
log "done in $((SECONDS - started))s; $(du -sh "$bin_dir" | cut -f1) in $bin_dir"
echo "$bin_dir"
