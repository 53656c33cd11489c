#!/usr/bin/env bash
# setup.sh: from an empty GCP project to what kbuild-action needs, in order:
#   1. the APIs;
#   2. a Workload Identity pool and a GitHub OIDC provider whose attribute
#      condition pins the repository owner's numeric id;
#   3. the builder service account, impersonable by one repository
#      (roles/iam.workloadIdentityUser for a principalSet);
#   4. a bucket with uniform access; the builder may create and read objects
#      in that bucket only;
#   5. a GKE cluster with an autoscaled amd64 pool, an arm64 (T2A) pool and,
#      with --with-spot, an amd64 Spot pool;
#   6. roles/container.clusterViewer for the builder (read the cluster's
#      endpoint and authenticate to it; Kubernetes RBAC decides the rest) and
#      deploy/kubernetes applied with the builder's email as RoleBinding user;
#   7. with --with-dispatcher: the dispatcher's own service account, its Role
#      in the cluster, and the Cloud Run function, invocable without a Google
#      identity (it verifies the caller's GitHub OIDC token itself).
# Then it prints the workflow snippet filled in with what it created.
#
# Idempotent: each resource is described first and created only when missing;
# IAM bindings and `kubectl apply` are idempotent themselves. --dry-run prints
# the complete ordered command list and runs nothing (it needs no credentials
# when --project-number is given).
#
# Usage:
#   bash deploy/gcp/setup.sh --project P --region us-central1 \
#     --github-owner-id 1234567 --github-repository acme/packages \
#     [--bucket B] [--cluster C] [--project-number N] [--arm64-zones Z1,Z2] \
#     [--with-spot] [--with-dispatcher --dispatcher-images PREFIX[,PREFIX...]] [--dry-run]
set -euo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"

usage() {
  sed -n '/^# Usage:/,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//' >&2
  exit 2
}
die() {
  echo "setup.sh: $*" >&2
  exit 1
}

project='' region='' owner_id='' repository='' bucket='' cluster='kbuild' project_number=''
arm64_zones='' images='' with_spot=0 with_dispatcher=0 dry_run=0
while (($#)); do
  case $1 in
    --project) project=${2-} && shift ;;
    --region) region=${2-} && shift ;;
    --github-owner-id) owner_id=${2-} && shift ;;
    --github-repository) repository=${2-} && shift ;;
    --bucket) bucket=${2-} && shift ;;
    --cluster) cluster=${2-} && shift ;;
    --project-number) project_number=${2-} && shift ;;
    --arm64-zones) arm64_zones=${2-} && shift ;;
    --dispatcher-images) images=${2-} && shift ;;
    --with-spot) with_spot=1 ;;
    --with-dispatcher) with_dispatcher=1 ;;
    --dry-run) dry_run=1 ;;
    -h | --help) usage ;;
    *) die "unknown argument \"$1\" (see --help)" ;;
  esac
  shift
done

[[ $project =~ ^[a-z][a-z0-9-]{4,28}[a-z0-9]$ ]] || die "--project: a project id like my-project-123 is needed, got \"$project\""
[[ $region =~ ^[a-z]+-[a-z]+[0-9]+$ ]] || die "--region: a region like us-central1 is needed, got \"$region\""
[[ $owner_id =~ ^[1-9][0-9]*$ ]] || die "--github-owner-id: the owner's numeric id is needed (never a name), got \"$owner_id\"; find it with: gh api users/OWNER --jq .id"
[[ $repository =~ ^[A-Za-z0-9-]+/[A-Za-z0-9._-]+$ ]] || die "--github-repository: owner/repo is needed, got \"$repository\""
[[ $cluster =~ ^[a-z]([a-z0-9-]{0,38}[a-z0-9])?$ ]] || die "--cluster: a GKE cluster name (lowercase letters, digits, -) is needed, got \"$cluster\""
bucket=${bucket:-$project-kbuild-artifacts}
[[ $bucket =~ ^[a-z0-9][a-z0-9._-]{1,61}[a-z0-9]$ ]] || die "--bucket: a bucket name is needed, got \"$bucket\""
[[ -z $project_number || $project_number =~ ^[0-9]+$ ]] || die "--project-number: digits are needed, got \"$project_number\""
if ((with_dispatcher)); then
  [[ $images =~ ^[^,\"[:space:]]+[/:](,[^,\"[:space:]]+[/:])*$ ]] ||
    die "--dispatcher-images: the image prefixes the dispatcher may run are needed, comma separated, each ending with / or :, got \"$images\""
fi
# T2A machines exist in some zones only; us-central1's are known, elsewhere pass --arm64-zones.
if [[ -z $arm64_zones && $region == us-central1 ]]; then
  arm64_zones=us-central1-a,us-central1-b,us-central1-f
fi

((dry_run)) || for tool in gcloud kubectl; do
  command -v "$tool" >/dev/null || die "$tool is missing (and gke-gcloud-auth-plugin for kubectl on GKE)"
done

if [[ -z $project_number ]]; then
  project_number=$(gcloud projects describe "$project" --format='value(projectNumber)' 2>/dev/null) ||
    die "cannot read project $project with gcloud: log in (gcloud auth login) or pass --project-number"
fi

pool=kbuild-pool
provider=github
builder=kbuild-builder@$project.iam.gserviceaccount.com
dispatcher=kbuild-dispatcher@$project.iam.gserviceaccount.com
dispatcher_name=kbuild-dispatcher
dispatcher_url=https://$dispatcher_name-$project_number.$region.run.app
pool_name=projects/$project_number/locations/global/workloadIdentityPools/$pool
provider_name=$pool_name/providers/$provider
context=gke_${project}_${region}_$cluster
namespace=kbuild

# quote_word quotes one shell word only where needed: single quotes, or
# double quotes for a word with single quotes and nothing that a shell
# expands inside double quotes.
quote_word() {
  local a=$1
  if [[ $a =~ ^[A-Za-z0-9_@%+=:,./-]+$ ]]; then
    printf '%s' "$a"
  elif [[ $a != *"'"* ]]; then
    printf "'%s'" "$a"
  elif [[ $a != *[\$\`\"\\!]* ]]; then
    printf '"%s"' "$a"
  else
    printf "'%s'" "${a//\'/\'\\\'\'}"
  fi
}

# quote prints its arguments as a command line; a `--flag=value` word keeps
# the flag unquoted.
quote() {
  local out=() a
  for a in "$@"; do
    if [[ $a =~ ^(--[a-z0-9-]+=)(.+)$ ]]; then
      out+=("${BASH_REMATCH[1]}$(quote_word "${BASH_REMATCH[2]}")")
    else
      out+=("$(quote_word "$a")")
    fi
  done
  echo "${out[*]}"
}

# step prints a heading.
step() { echo "# $*"; }

# run prints a command and, unless --dry-run, runs it.
run() {
  if ((dry_run)); then
    quote "$@"
  else
    echo "+ $(quote "$@")" >&2
    "$@"
  fi
}

# missing runs a describe command quietly and succeeds when the resource does
# not exist. With --dry-run nothing exists, so every create is printed.
missing() {
  ((dry_run)) && return 0
  ! "$@" >/dev/null 2>&1
}

# apply_manifests renders a kustomization, names the project's service
# accounts in its RoleBindings (placeholder PROJECT_ID) and applies it.
apply_manifests() {
  local dir=$1 sed_expr="s/@PROJECT_ID\\.iam\\.gserviceaccount\\.com/@$project.iam.gserviceaccount.com/"
  if ((dry_run)); then
    echo "$(quote kubectl kustomize "$dir") | $(quote sed "$sed_expr") | $(quote kubectl --context "$context" apply -f -)"
  else
    echo "+ kubectl kustomize $dir | sed ... | kubectl apply" >&2
    kubectl kustomize "$dir" | sed "$sed_expr" | kubectl --context "$context" apply -f -
  fi
}

((dry_run)) && echo "# setup.sh --dry-run: the commands, in order; nothing was run."

step "1. APIs"
apis=(iam.googleapis.com iamcredentials.googleapis.com sts.googleapis.com container.googleapis.com storage.googleapis.com)
((with_dispatcher)) && apis+=(cloudfunctions.googleapis.com run.googleapis.com cloudbuild.googleapis.com artifactregistry.googleapis.com)
run gcloud services enable "${apis[@]}" --project="$project"

step "2. Workload Identity Federation: pool, GitHub provider pinned to owner id $owner_id"
if missing gcloud iam workload-identity-pools describe "$pool" --project="$project" --location=global; then
  run gcloud iam workload-identity-pools create "$pool" --project="$project" --location=global \
    --display-name="kbuild GitHub Actions"
fi
if missing gcloud iam workload-identity-pools providers describe "$provider" --project="$project" \
  --location=global --workload-identity-pool="$pool"; then
  run gcloud iam workload-identity-pools providers create-oidc "$provider" --project="$project" \
    --location=global --workload-identity-pool="$pool" --display-name="GitHub Actions" \
    --issuer-uri="https://token.actions.githubusercontent.com" \
    --attribute-mapping="google.subject=assertion.sub,attribute.repository=assertion.repository,attribute.repository_id=assertion.repository_id,attribute.repository_owner_id=assertion.repository_owner_id,attribute.ref=assertion.ref,attribute.event_name=assertion.event_name" \
    --attribute-condition="assertion.repository_owner_id == '$owner_id'"
fi

step "3. the builder service account, impersonable by $repository"
if missing gcloud iam service-accounts describe "$builder" --project="$project"; then
  run gcloud iam service-accounts create kbuild-builder --project="$project" \
    --display-name="kbuild-action builds"
fi
run gcloud iam service-accounts add-iam-policy-binding "$builder" --project="$project" \
  --role=roles/iam.workloadIdentityUser \
  --member="principalSet://iam.googleapis.com/$pool_name/attribute.repository/$repository"

step "4. bucket gs://$bucket (uniform access; the builder may create and read objects)"
if missing gcloud storage buckets describe "gs://$bucket" --project="$project"; then
  run gcloud storage buckets create "gs://$bucket" --project="$project" --location="$region" \
    --uniform-bucket-level-access --public-access-prevention
fi
for role in roles/storage.objectCreator roles/storage.objectViewer; do
  run gcloud storage buckets add-iam-policy-binding "gs://$bucket" --member="serviceAccount:$builder" --role="$role"
done

step "5. GKE cluster $cluster in $region with amd64 and arm64 node pools"
if missing gcloud container clusters describe "$cluster" --project="$project" --location="$region"; then
  # A small system pool; builds go to the pools below (the snippet pins node_pool).
  run gcloud container clusters create "$cluster" --project="$project" --location="$region" \
    --release-channel=regular --workload-pool="$project.svc.id.goog" \
    --machine-type=e2-standard-2 --num-nodes=1 --enable-shielded-nodes --shielded-secure-boot
fi
pool_args=(--cluster="$cluster" --project="$project" --location="$region" --num-nodes=0
  --enable-autoscaling --total-min-nodes=0 --location-policy=ANY
  --disk-type=pd-balanced --disk-size=100 --workload-metadata=GKE_METADATA --shielded-secure-boot)
if missing gcloud container node-pools describe amd64-pool --cluster="$cluster" --project="$project" --location="$region"; then
  run gcloud container node-pools create amd64-pool "${pool_args[@]}" \
    --machine-type=e2-standard-8 --total-max-nodes=8
fi
if missing gcloud container node-pools describe arm64-pool --cluster="$cluster" --project="$project" --location="$region"; then
  # GKE taints arm64 nodes kubernetes.io/arch=arm64:NoSchedule; kbuild's arm64 pods tolerate it.
  run gcloud container node-pools create arm64-pool "${pool_args[@]}" \
    --machine-type=t2a-standard-8 --total-max-nodes=4 ${arm64_zones:+"--node-locations=$arm64_zones"}
fi
if ((with_spot)) && missing gcloud container node-pools describe amd64-spot-pool --cluster="$cluster" \
  --project="$project" --location="$region"; then
  run gcloud container node-pools create amd64-spot-pool "${pool_args[@]}" \
    --machine-type=e2-standard-8 --total-max-nodes=8 --spot \
    --node-taints=cloud.google.com/gke-spot=true:NoSchedule
fi

step "6. cluster access: IAM to read the cluster, Kubernetes RBAC for the rest"
run gcloud projects add-iam-policy-binding "$project" --member="serviceAccount:$builder" \
  --role=roles/container.clusterViewer --condition=None
run gcloud container clusters get-credentials "$cluster" --project="$project" --location="$region"
apply_manifests deploy/kubernetes/base

if ((with_dispatcher)); then
  step "7. the dispatcher: its own service account, Role and Cloud Run function"
  if missing gcloud iam service-accounts describe "$dispatcher" --project="$project"; then
    run gcloud iam service-accounts create "$dispatcher_name" --project="$project" \
      --display-name="kbuild dispatcher"
  fi
  run gcloud projects add-iam-policy-binding "$project" --member="serviceAccount:$dispatcher" \
    --role=roles/container.clusterViewer --condition=None
  apply_manifests deploy/kubernetes/dispatcher
  # The policy (functions/dispatcher/policy.ts): this owner, these images, both arches, at most
  # 8 cpu and 32Gi per build, 200 builds per request, no privileged builds. Change it later with
  # gcloud run services update kbuild-dispatcher --update-env-vars=...
  image_list="\"${images//,/\",\"}\""
  policy="{\"repository_owner_ids\":[\"$owner_id\"],\"images\":[$image_list],\"archs\":[\"amd64\",\"arm64\"],\"max_cpu\":\"8\",\"max_memory\":\"32Gi\",\"max_builds\":200}"
  # The function is invocable without a Google identity (allUsers run.invoker):
  # every request must carry a GitHub OIDC token that it verifies (audience = its URL).
  run gcloud functions deploy "$dispatcher_name" --gen2 --project="$project" --region="$region" \
    --runtime=nodejs24 --source=dist/dispatcher --entry-point=dispatcher \
    --trigger-http --allow-unauthenticated --service-account="$dispatcher" \
    --max-instances=10 --timeout=3600s \
    --set-env-vars="^|^KBUILD_PROJECT_ID=$project|KBUILD_LOCATION=$region|KBUILD_CLUSTER=$cluster|KBUILD_NAMESPACE=$namespace|KBUILD_AUDIENCE=$dispatcher_url|KBUILD_POLICY=$policy"
fi

# step_inputs prints the `with:` lines every kbuild step on this project shares.
step_inputs() {
  cat <<EOF
      - uses: org/kbuild-action@v1
        with:
          workload_identity_provider: $provider_name
          service_account: $builder
          cluster: $cluster
          location: $region
          namespace: $namespace
          bucket: $bucket
EOF
}

step "done. The workflow job, filled in (YAML for .github/workflows/):"
cat <<EOF
permissions:
  id-token: write
  contents: read
jobs:
  build:
    runs-on: ubuntu-latest
    strategy:
      matrix:
        arch: [amd64, arm64]
    steps:
      - uses: actions/checkout@v5
EOF
step_inputs
# A quoted here-document: the expressions are GitHub's, not the shell's.
cat <<'EOF'
          arch: ${{ matrix.arch }}
          node_pool: ${{ matrix.arch }}-pool
          image: debian:bookworm
          packages: hello
EOF
if ((with_dispatcher)); then
  step "with the dispatcher, one step fans the packages out (mode: dispatch):"
  step_inputs
  cat <<EOF
          mode: dispatch
          dispatcher_url: $dispatcher_url
          image: debian:bookworm
          packages: hello zlib
          archs: amd64 arm64
EOF
fi
