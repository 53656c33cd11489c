#!/usr/bin/env bash
# pki.sh DIR: creates the lab's certificates and keys once (openssl), reused on
# later starts so kubeconfigs stay valid:
#   ca.crt/key                      the lab CA (also the GKE stand-in's clusterCaCertificate)
#   apiserver.crt/key               kube-apiserver serving cert (127.0.0.1, localhost, kubernetes.default...)
#   kubelet.crt/key                 the pod runtime's kubelet API serving cert (127.0.0.1)
#   apiserver-kubelet-client.crt/key  the API server's client cert towards the kubelet API
#   sa.key/sa.pub                   service account token signing key pair
#   tokens.csv                      static bearer tokens of the lab's own components (mode 600)
#   kueue-webhook/tls.crt,tls.key   Kueue's webhook serving cert (127.0.0.1)
#   kueue-metrics/tls.crt,tls.key   the metrics cert Kueue insists on loading (lab.sh)
#   faults.crt/key                  the fault-injecting API front's serving cert (lab/faults, 127.0.0.1)
# Parts added after a lab's first start (Kueue's) are made on their own when
# missing, so an existing DIR gains them without a new CA.
set -euo pipefail
dir=$1
mkdir -p "$dir"
cd "$dir"
umask 077
days=3650

# sign NAME SUBJECT EXT: a key and a cert signed by the lab CA.
sign() {
  openssl req -newkey rsa:2048 -nodes -keyout "$1.key" -out "$1.csr" -subj "$2" 2>/dev/null
  printf '%s\n' "$3" >"$1.ext"
  openssl x509 -req -in "$1.csr" -CA ca.crt -CAkey ca.key -CAcreateserial -out "$1.crt" \
    -days "$days" -extfile "$1.ext" 2>/dev/null
  rm -f "$1.csr" "$1.ext"
}
server_ext='basicConstraints=CA:FALSE
keyUsage=critical,digitalSignature,keyEncipherment
extendedKeyUsage=serverAuth'
tok() { openssl rand -hex 24; }

# kueue: Kueue's serving certs, as tls.crt/tls.key in a directory each (the
# names Kueue reads), and its token (user kbuild-lab-kueue, bound to Kueue's
# own ClusterRole by lab.sh, no group).
kueue() {
  local d
  for d in kueue-webhook kueue-metrics; do
    [[ -f $d/tls.crt ]] && continue
    mkdir -p "$d"
    sign "$d/tls" "/CN=kbuild-lab-$d" "$server_ext
subjectAltName=IP:127.0.0.1,DNS:localhost"
  done
  grep -q ',kbuild-lab-kueue,' tokens.csv || echo "$(tok),kbuild-lab-kueue,uid-kueue," >>tokens.csv
}
# faults: the serving cert of the fault front (lab/faults/front.ts) before the API server.
faults() {
  [[ -f faults.crt ]] && return 0
  sign faults "/CN=kbuild-lab-fault-front" "$server_ext
subjectAltName=IP:127.0.0.1,DNS:localhost"
}
if [[ -f .complete ]]; then
  kueue
  faults
  exit 0
fi

openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.crt -days "$days" \
  -subj "/CN=kbuild-lab-ca" -addext "basicConstraints=critical,CA:TRUE" \
  -addext "keyUsage=critical,keyCertSign,cRLSign,digitalSignature" 2>/dev/null
sign apiserver "/CN=kube-apiserver" "$server_ext
subjectAltName=IP:127.0.0.1,IP:10.96.0.1,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local"
sign kubelet "/CN=kbuild-lab-kubelet" "$server_ext
subjectAltName=IP:127.0.0.1,DNS:localhost"
sign apiserver-kubelet-client "/O=system:masters/CN=kube-apiserver-kubelet-client" 'basicConstraints=CA:FALSE
keyUsage=critical,digitalSignature,keyEncipherment
extendedKeyUsage=clientAuth'

openssl genrsa -out sa.key 2048 2>/dev/null
openssl rsa -in sa.key -pubout -out sa.pub 2>/dev/null

# token,user,uid,"group1,group2"
{
  echo "$(tok),kbuild-lab-admin,uid-admin,\"system:masters\""
  echo "$(tok),system:kube-controller-manager,uid-kcm,"
  echo "$(tok),system:kube-scheduler,uid-scheduler,"
  echo "$(tok),kbuild-lab-kwok,uid-kwok,\"system:masters\""
  echo "$(tok),kbuild-lab-runtime,uid-runtime,\"system:masters\""
} >tokens.csv
kueue
faults
touch .complete
