#!/usr/bin/env bash
# lab.sh up|down|status|env: the lab, a local stand-in for GKE and Google's APIs
# (docs/design.md, "The lab", docs/lab.md).
#
#   up      builds what is missing (cached outside the repository), starts every
#           component in the background, waits until the nodes are Ready and
#           writes .lab/env. Idempotent: a running lab is left as it is.
#   down    stops every component this lab started (by PID) and wipes the
#           cluster's state; certificates and caches stay.
#   status  tells what is up.
#
# Everything binds to 127.0.0.1. Ports: $KBUILD_LAB_PORT_BASE (16400) + offsets,
# see port() below. Logs: .lab/logs/<component>.log.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
# shellcheck source=lab/scripts/versions.sh
source "$here/versions.sh"
lab=${KBUILD_LAB_DIR:-$root/.lab}
base=${KBUILD_LAB_PORT_BASE:-16400}
components=(google etcd kube-apiserver kube-controller-manager kube-scheduler kwok runtime kueue)

log() { printf '[lab %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { log "error: $*"; exit 1; }

port() {
  case $1 in
    etcd) echo $((base + 1)) ;; etcd-peer) echo $((base + 2)) ;;
    oidc) echo $((base + 10)) ;; sts) echo $((base + 11)) ;; iam) echo $((base + 12)) ;;
    container) echo $((base + 13)) ;; storage) echo $((base + 14)) ;; tokenreview) echo $((base + 15)) ;;
    metadata) echo $((base + 16)) ;;
    apiserver) echo $((base + 43)) ;; kwok) echo $((base + 47)) ;; runtime) echo $((base + 50)) ;;
    kcm) echo $((base + 57)) ;; scheduler) echo $((base + 59)) ;;
    kueue-webhook) echo $((base + 80)) ;; kueue-health) echo $((base + 81)) ;;
    *) die "unknown port $1" ;;
  esac
}

pid_of() { [[ -f $lab/pids/$1.pid ]] && cat "$lab/pids/$1.pid"; }
alive() { local p; p=$(pid_of "$1") && [[ -n $p ]] && kill -0 "$p" 2>/dev/null; }

# start NAME CMD...: runs CMD detached (own session), output to .lab/logs/NAME.log.
start() {
  local name=$1
  shift
  if alive "$name"; then return 0; fi
  setsid "$@" >>"$lab/logs/$name.log" 2>&1 </dev/null &
  echo $! >"$lab/pids/$name.pid"
}

# wait_for WHAT SECONDS CMD...: polls CMD until it succeeds.
wait_for() {
  local what=$1 limit=$2 t=$SECONDS
  shift 2
  until "$@" >/dev/null 2>&1; do
    if ((SECONDS - t > limit)); then
      log "$what not ready after ${limit}s; last lines of its log:"
      tail -n 20 "$lab/logs/$what.log" >&2 2>/dev/null || true
      return 1
    fi
    local name
    for name in "${components[@]}"; do
      if [[ -f $lab/pids/$name.pid ]] && ! alive "$name"; then
        log "$name exited; last lines of $lab/logs/$name.log:"
        tail -n 30 "$lab/logs/$name.log" >&2 || true
        return 1
      fi
    done
    sleep 0.3
  done
}

token_of() { grep ",$1," "$lab/pki/tokens.csv" | cut -d, -f1; }

# kubeconfig FILE USER: a kubeconfig for the lab API server with USER's static token.
kubeconfig() {
  local file=$1 user=$2 ca
  ca=$(base64 -w0 <"$lab/pki/ca.crt")
  umask 077
  cat >"$file" <<EOF2
apiVersion: v1
kind: Config
clusters:
- name: kbuild-lab
  cluster:
    server: https://127.0.0.1:$(port apiserver)
    certificate-authority-data: $ca
users:
- name: $user
  user:
    token: $(token_of "$user")
contexts:
- name: kbuild-lab
  context: {cluster: kbuild-lab, user: $user, namespace: default}
current-context: kbuild-lab
EOF2
}

ensure_tools() {
  bash "$here/prereqs.sh" || die "the lab's Debian packages are missing (see above)"
  if ! bash "$here/binfmt.sh"; then
    log "warning: arm64 pods will fail (event: exec format error, the reason above); amd64 pods run"
  fi
  bin=$(bash "$here/build-binaries.sh" | tail -n 1)
  images=$(bash "$here/build-images.sh" | tail -n 1)
  runtime_bin=$(bash "$here/build-runtime.sh" | tail -n 1)
  sources=$(bash "$here/fetch-sources.sh" | tail -n 1)
  kueue_dir=$(bash "$here/build-kueue.sh" | tail -n 1)
  node_bin=$root/node_modules/.bin/node
  [[ -x $node_bin ]] || die "node_modules/.bin/node is missing: run npm ci first"
}

write_configs() {
  mkdir -p "$lab"/{logs,pids,runtime,gcs,gcloud}
  mkdir -p "$lab/etcd" && chmod 700 "$lab/etcd"
  bash "$here/pki.sh" "$lab/pki"
  [[ -f $lab/pki/request-token ]] || (umask 077 && openssl rand -hex 24 >"$lab/pki/request-token")
  kubeconfig "$lab/kubeconfig" kbuild-lab-admin
  kubeconfig "$lab/kcm.kubeconfig" system:kube-controller-manager
  kubeconfig "$lab/scheduler.kubeconfig" system:kube-scheduler
  kubeconfig "$lab/kwok.kubeconfig" kbuild-lab-kwok
  kubeconfig "$lab/runtime.kubeconfig" kbuild-lab-runtime
  kueue_configs
  cat >"$lab/tokenreview.kubeconfig" <<EOF2
apiVersion: v1
kind: Config
clusters:
- name: lab-google
  cluster: {server: "http://127.0.0.1:$(port tokenreview)/tokenreview"}
users:
- name: kube-apiserver
contexts:
- name: webhook
  context: {cluster: lab-google, user: kube-apiserver}
current-context: webhook
EOF2
  cat >"$lab/google.json" <<EOF2
{
  "ports": {"oidc": $(port oidc), "sts": $(port sts), "iam": $(port iam),
            "gke": $(port container), "gcs": $(port storage), "tokenReview": $(port tokenreview),
            "metadata": $(port metadata)},
  "cluster": {"name": "lab", "location": "us-central1", "endpoint": "127.0.0.1:$(port apiserver)",
              "caCertPath": "$lab/pki/ca.crt", "version": "${KBUILD_LAB_K8S_VERSION#v}-gke.0"},
  "gcs": {"stateDir": "$lab/gcs", "buckets": ["kbuild-lab-artifacts"]},
  "gke": {"kubeconfig": "$lab/kubeconfig", "runtimeStateDir": "$lab/runtime"},
  "oidc": {"requestToken": "$(cat "$lab/pki/request-token")"}
}
EOF2
}

# kueue_configs: Kueue's kubeconfig (user kbuild-lab-kueue, bound to Kueue's own
# ClusterRole by kueue_install), its configuration (lab/kueue/config.yaml) and
# the /etc overlay that gives it /etc/kueue/metrics/certs (see start_kueue).
kueue_configs() {
  kubeconfig "$lab/kueue.kubeconfig" kbuild-lab-kueue
  mkdir -p "$lab/kueue/etc/kueue/metrics"
  rm -rf "$lab/kueue/etc/kueue/metrics/certs"
  cp -r "$lab/pki/kueue-metrics" "$lab/kueue/etc/kueue/metrics/certs"
  sed -e "s|@WEBHOOK_PORT@|$(port kueue-webhook)|" -e "s|@HEALTH_PORT@|$(port kueue-health)|" \
    -e "s|@CERT_DIR@|$lab/pki/kueue-webhook|" "$root/lab/kueue/config.yaml" >"$lab/kueue/config.yaml"
}

# kueue_install: Kueue's CRDs, webhook configurations (https://127.0.0.1, the lab
# CA) and RBAC, from the module's manifests (lab/kueue/manifests.ts), applied
# server-side; waits until the CRDs are served, which Kueue needs to start.
kueue_install() {
  local kubectl=("$bin/kubectl" --kubeconfig "$lab/kubeconfig") crds
  "$node_bin" "$root/lab/kueue/manifests.ts" --dir "$kueue_dir" --port "$(port kueue-webhook)" \
    --ca "$lab/pki/ca.crt" --user kbuild-lab-kueue >"$lab/kueue/manifests.json"
  "${kubectl[@]}" apply --server-side --force-conflicts --field-manager kbuild-lab \
    -f "$lab/kueue/manifests.json" >/dev/null
  mapfile -t crds < <("${kubectl[@]}" get crd -o name | grep '\.kueue\.x-k8s\.io$')
  "${kubectl[@]}" wait --for=condition=Established --timeout=60s "${crds[@]}" >/dev/null
}

# start_kueue: Kueue as a host process. With its own certificates it still loads
# metrics certificates from the fixed path /etc/kueue/metrics/certs (Kueue's
# cmd/kueue/main.go; no flag or config field moves it), so it runs in a private
# mount namespace whose /etc is a read-only overlay of .lab/kueue/etc on the
# host's /etc. unshare and sh exec, so the PID file names Kueue itself.
start_kueue() {
  local ns=(unshare --mount --propagation private)
  [[ $(id -u) == 0 ]] || ns=(unshare --user --map-root-user --mount --propagation private)
  # shellcheck disable=SC2016 # expanded by the inner sh
  start kueue "${ns[@]}" sh -c 'mount -t overlay kueue-etc -o "ro,lowerdir=$1:/etc" /etc && shift && exec "$@"' \
    kueue "$lab/kueue/etc" "$kueue_dir/kueue" --config "$lab/kueue/config.yaml" \
    --kubeconfig "$lab/kueue.kubeconfig" --zap-log-level info
}

up() {
  if [[ -f $lab/env ]] && status >/dev/null 2>&1; then
    log "the lab is already up"
    return 0
  fi
  local t0=$SECONDS
  ensure_tools
  write_configs
  log "starting the Google stand-ins"
  start google "$node_bin" "$root/lab/google/main.ts" --config "$lab/google.json" --env-out "$lab/google.env"
  log "starting etcd $KBUILD_LAB_ETCD_VERSION"
  start etcd "$bin/etcd" --name lab --data-dir "$lab/etcd" \
    --listen-client-urls "http://127.0.0.1:$(port etcd)" --advertise-client-urls "http://127.0.0.1:$(port etcd)" \
    --listen-peer-urls "http://127.0.0.1:$(port etcd-peer)" --initial-advertise-peer-urls "http://127.0.0.1:$(port etcd-peer)" \
    --initial-cluster "lab=http://127.0.0.1:$(port etcd-peer)" --listen-metrics-urls "" \
    --unsafe-no-fsync --quota-backend-bytes 4294967296 --log-level warn
  wait_for etcd 30 curl -sf "http://127.0.0.1:$(port etcd)/health"
  wait_for google 30 test -s "$lab/google.env"

  log "starting kube-apiserver $KBUILD_LAB_K8S_VERSION"
  start kube-apiserver "$bin/kube-apiserver" \
    --etcd-servers "http://127.0.0.1:$(port etcd)" \
    --bind-address 127.0.0.1 --advertise-address 127.0.0.1 --secure-port "$(port apiserver)" \
    --tls-cert-file "$lab/pki/apiserver.crt" --tls-private-key-file "$lab/pki/apiserver.key" \
    --client-ca-file "$lab/pki/ca.crt" \
    --token-auth-file "$lab/pki/tokens.csv" \
    --authentication-token-webhook-config-file "$lab/tokenreview.kubeconfig" \
    --authentication-token-webhook-version v1 --authentication-token-webhook-cache-ttl 30s \
    --authorization-mode RBAC --anonymous-auth=false \
    --service-account-issuer https://kubernetes.default.svc.cluster.local \
    --service-account-key-file "$lab/pki/sa.pub" --service-account-signing-key-file "$lab/pki/sa.key" \
    --service-cluster-ip-range 10.96.0.0/16 \
    --kubelet-client-certificate "$lab/pki/apiserver-kubelet-client.crt" \
    --kubelet-client-key "$lab/pki/apiserver-kubelet-client.key" \
    --kubelet-certificate-authority "$lab/pki/ca.crt" \
    --kubelet-preferred-address-types InternalIP \
    --allow-privileged=true --profiling=false --endpoint-reconciler-type none
  local admin=(curl -sf --cacert "$lab/pki/ca.crt" -H "Authorization: Bearer $(token_of kbuild-lab-admin)")
  wait_for kube-apiserver 90 "${admin[@]}" "https://127.0.0.1:$(port apiserver)/readyz"

  log "starting kube-controller-manager and kube-scheduler"
  start kube-controller-manager "$bin/kube-controller-manager" \
    --kubeconfig "$lab/kcm.kubeconfig" --authentication-kubeconfig "$lab/kcm.kubeconfig" \
    --authorization-kubeconfig "$lab/kcm.kubeconfig" \
    --bind-address 127.0.0.1 --secure-port "$(port kcm)" --leader-elect=false \
    --use-service-account-credentials=true --service-account-private-key-file "$lab/pki/sa.key" \
    --root-ca-file "$lab/pki/ca.crt" --cluster-signing-cert-file "$lab/pki/ca.crt" \
    --cluster-signing-key-file "$lab/pki/ca.key" --controllers '*,-nodeipam,-cloud-node-lifecycle'
  start kube-scheduler "$bin/kube-scheduler" \
    --kubeconfig "$lab/scheduler.kubeconfig" --authentication-kubeconfig "$lab/scheduler.kubeconfig" \
    --authorization-kubeconfig "$lab/scheduler.kubeconfig" \
    --bind-address 127.0.0.1 --secure-port "$(port scheduler)" --leader-elect=false

  log "installing Kueue $KBUILD_LAB_KUEUE_VERSION (CRDs, webhooks, RBAC) and starting it"
  kueue_install
  start_kueue

  log "starting kwok $KBUILD_LAB_KWOK_VERSION (node pools) and the pod runtime"
  start kwok "$bin/kwok" --kubeconfig "$lab/kwok.kubeconfig" --config "$root/lab/config/kwok.yaml" \
    --manage-nodes-with-annotation-selector kwok.x-k8s.io/node=fake \
    --node-ip 127.0.0.1 --node-port "$(port runtime)" --server-address "127.0.0.1:$(port kwok)"
  start runtime "$runtime_bin" --kubeconfig "$lab/runtime.kubeconfig" --listen "127.0.0.1:$(port runtime)" \
    --tls-cert-file "$lab/pki/kubelet.crt" --tls-private-key-file "$lab/pki/kubelet.key" \
    --state-dir "$lab/runtime" --node-annotation-selector kwok.x-k8s.io/node=fake --images "$images" \
    --metadata-host "127.0.0.1:$(port metadata)"

  local kubectl=("$bin/kubectl" --kubeconfig "$lab/kubeconfig")
  sed "s/KUBELET_VERSION/$KBUILD_LAB_K8S_VERSION/" "$root/lab/config/nodes.yaml" |
    "${kubectl[@]}" create -f - 2>&1 | grep -v AlreadyExists >&2 || true
  "${kubectl[@]}" apply -f "$root/lab/config/bootstrap.yaml" >/dev/null
  # The build namespace `kbuild` (the default of the action's `namespace`) with
  # the deploy kit's Roles, bound to the lab's service accounts.
  "${kubectl[@]}" apply -k "$root/deploy/kubernetes/lab" >/dev/null
  sed "s/KUBELET_VERSION/$KBUILD_LAB_K8S_VERSION/" "$root/lab/config/autopilot.yaml" | "${kubectl[@]}" apply -f - >/dev/null
  wait_for kwok 60 "${kubectl[@]}" wait --for=condition=Ready node --all --timeout=1s
  wait_for runtime 30 curl -sf --cacert "$lab/pki/ca.crt" "https://127.0.0.1:$(port runtime)/healthz"
  wait_for kube-controller-manager 60 "${kubectl[@]}" get serviceaccount default -n default
  wait_for kueue 90 curl -sf "http://127.0.0.1:$(port kueue-health)/readyz"

  write_env
  log "the lab is up in $((SECONDS - t0))s; source $lab/env"
}

write_env() {
  umask 077
  {
    echo "# The lab's environment (written by lab/scripts/lab.sh up). Source it."
    echo "export KUBECONFIG='$lab/kubeconfig'"
    echo "export KBUILD_LAB_BIN='$bin'"
    echo "export PATH='$bin':\"\$PATH\""
    echo "export KBUILD_LAB_SOURCES='$sources'"
    echo "export KBUILD_LAB_IMAGES='$images'"
    echo "export KBUILD_LAB_API_SERVER='https://127.0.0.1:$(port apiserver)'"
    echo "export KBUILD_LAB_PORT_BASE='$base'"
    echo "export CLOUDSDK_API_ENDPOINT_OVERRIDES_STORAGE='http://127.0.0.1:$(port storage)/'"
    cat "$lab/google.env"
  } >"$lab/env.tmp"
  mv "$lab/env.tmp" "$lab/env"
}

# stop NAME...: SIGTERM to each that runs, wait up to 10 s, then SIGKILL.
stop() {
  local name pid pids=() names=()
  for name in "$@"; do
    pid=$(pid_of "$name") || continue
    if kill -0 "$pid" 2>/dev/null; then
      kill -TERM "$pid" 2>/dev/null || true
      pids+=("$pid")
      names+=("$name")
    fi
    rm -f "$lab/pids/$name.pid"
  done
  ((${#pids[@]})) || return 0
  for _ in $(seq 1 50); do
    local left=0
    for pid in "${pids[@]}"; do kill -0 "$pid" 2>/dev/null && left=1; done
    ((left)) || break
    sleep 0.2
  done
  for pid in "${pids[@]}"; do kill -KILL "$pid" 2>/dev/null || true; done
  log "stopped ${names[*]}"
}

down() {
  # Kueue first, while the API server still answers (without it Kueue may wait
  # for ever and only stop on SIGKILL); etcd last: the API server needs it to
  # shut down cleanly.
  stop kueue
  stop runtime kwok kube-scheduler kube-controller-manager kube-apiserver google
  stop etcd
  rm -f "$lab"/pids/*.pid
  rm -rf "$lab/etcd" "$lab/runtime" "$lab/gcs" "$lab/kueue" "$lab/env" "$lab/google.env"
}

status() {
  local name up=0
  for name in "${components[@]}"; do
    if alive "$name"; then
      printf '%-24s up (pid %s)\n' "$name" "$(pid_of "$name")"
      up=$((up + 1))
    else
      printf '%-24s down\n' "$name"
    fi
  done
  if [[ -f $lab/env ]] && alive kube-apiserver; then
    # shellcheck disable=SC1091
    (source "$lab/env" && kubectl get nodes -L kubernetes.io/arch,cloud.google.com/gke-nodepool 2>&1) || true
  fi
  ((up == ${#components[@]}))
}

case ${1:-} in
  up) up ;;
  down) down ;;
  status) status ;;
  *) echo "usage: lab.sh up|down|status" >&2; exit 2 ;;
esac
