# shellcheck shell=bash
# versions.sh: the lab's pinned upstream versions and where their build is
# cached (outside the repository, keyed by every version). Sourced by scripts.
: "${KBUILD_LAB_K8S_VERSION:=v1.36.3}"
: "${KBUILD_LAB_ETCD_VERSION:=v3.6.16}"
: "${KBUILD_LAB_KWOK_VERSION:=v0.8.0}"
: "${KBUILD_LAB_CACHE:=${XDG_CACHE_HOME:-$HOME/.cache}/kbuild-lab}"
: "${KBUILD_LAB_BIN:=$KBUILD_LAB_CACHE/bin/k8s-$KBUILD_LAB_K8S_VERSION-etcd-$KBUILD_LAB_ETCD_VERSION-kwok-$KBUILD_LAB_KWOK_VERSION}"
export KBUILD_LAB_K8S_VERSION KBUILD_LAB_ETCD_VERSION KBUILD_LAB_KWOK_VERSION KBUILD_LAB_CACHE KBUILD_LAB_BIN
: "${KBUILD_LAB_KUEUE_VERSION:=v0.17.0}"
: "${KBUILD_LAB_KUEUE_DIR:=$KBUILD_LAB_CACHE/bin/kueue-$KBUILD_LAB_KUEUE_VERSION}"
export KBUILD_LAB_KUEUE_VERSION KBUILD_LAB_KUEUE_DIR
