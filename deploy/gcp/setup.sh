#!/usr/bin/env bash
# setup.sh: from an empty GCP project to what kbuild-action needs, in order:
#   1. the APIs;
#   2. a Workload Identity pool and a GitHub OIDC provider whose attribute
#      condition pins the repository owner's numeric id; its attribute
#      mapping also gives `release_repository_id`: the repository's id for a
#      tag (ref refs/tags/...) or a job of the release environment, `none`
#      otherwise;
#   3. the builder service account, impersonable by one repository, named by
#      its numeric id (roles/iam.workloadIdentityUser for the principalSet
#      attribute.repository_id/ID);
#   4. a bucket with uniform access; the builder may read objects and create
#      them anywhere but under releases/ (an IAM condition on the object name);
#   5. with --release-service-account: a second service account,
#      impersonable only by that repository's tag and release-environment
#      jobs (attribute.release_repository_id/ID), that may create objects
#      under releases/ only;
#   6. a GKE cluster: with --autopilot an Autopilot cluster (GKE provisions
#      amd64, arm64 and Spot nodes per Pod), otherwise a Standard cluster with
#      an autoscaled amd64 pool, an arm64 (T2A) pool and, with --with-spot, an
#      amd64 Spot pool;
#   7. roles/container.clusterViewer for each build account (read the
#      cluster's endpoint and authenticate to it; Kubernetes RBAC decides the
#      rest) and deploy/kubernetes applied with the accounts' emails as
#      RoleBinding users (namespace kbuild);
#   8. with --with-dispatcher: the dispatcher's own service account, its Role
#      in the cluster, and the Cloud Run function, invocable without a Google
#      identity (it verifies the caller's GitHub OIDC token itself).
# Then it prints the workflow snippet filled in with what it created.
#
# Idempotent: each resource is described first and created only when missing
# (the provider is updated to this script's mapping when it exists); IAM
# bindings and `kubectl apply` are idempotent themselves. --dry-run prints the
# complete ordered command list and runs nothing (it needs no credentials
# when --project-number is given).
#
# Usage:
#   bash deploy/gcp/setup.sh --project P --region us-central1 \
#     --github-owner-id 1234567 --github-repository-id 7654321 \
#     [--github-repository acme/packages] [--bucket B] [--cluster C] [--project-number N] \
#     [--autopilot | --arm64-zones Z1,Z2 --with-spot] \
#     [--release-service-account [--release-environment release]] \
#     [--with-dispatcher --dispatcher-images PREFIX[,PREFIX...]] [--dry-run]
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

project='' region='' owner_id='' repository_id='' repository='' bucket='' cluster='kbuild'
project_number='' arm64_zones='' images='' with_spot=0 with_dispatcher=0 dry_run=0 autopilot=0
with_release=0 release_environment=release
while (($#)); do
  case $1 in
    --project) project=${2-} && shift ;;
    --region) region=${2-} && shift ;;
    --github-owner-id) owner_id=${2-} && shift ;;
    --github-repository-id) repository_id=${2-} && shift ;;
    --github-repository) repository=${2-} && shift ;;
    --bucket) bucket=${2-} && shift ;;
    --cluster) cluster=${2-} && shift ;;
    --project-number) project_number=${2-} && shift ;;
    --arm64-zones) arm64_zones=${2-} && shift ;;
    --dispatcher-images) images=${2-} && shift ;;
    --with-spot) with_spot=1 ;;
    --with-dispatcher) with_dispatcher=1 ;;
    --autopilot) autopilot=1 ;;
    --release-service-account) with_release=1 ;;
    --release-environment) release_environment=${2-} && shift ;;
    --dry-run) dry_run=1 ;;
    -h | --help) usage ;;
    *) die "unknown argument \"$1\" (see --help)" ;;
  esac
  shift
done

[[ $project =~ ^[a-z][a-z0-9-]{4,28}[a-z0-9]$ ]] || die "--project: a project id like my-project-123 is needed, got \"$project\""
[[ $region =~ ^[a-z]+-[a-z]+[0-9]+$ ]] || die "--region: a region like us-central1 is needed, got \"$region\""
[[ $owner_id =~ ^[1-9][0-9]*$ ]] || die "--github-owner-id: the owner's numeric id is needed (never a name), got \"$owner_id\"; find it with: gh api users/OWNER --jq .id"
[[ -z $repository || $repository =~ ^[A-Za-z0-9-]+/[A-Za-z0-9._-]+$ ]] || die "--github-repository: owner/repo is needed, got \"$repository\""
[[ $repository_id =~ ^[1-9][0-9]*$ ]] || die "--github-repository-id: the repository's numeric id is needed (never a name: a deleted repository's name can be taken over), got \"$repository_id\"; find it with: gh api repos/${repository:-OWNER/REPO} --jq .id"
[[ $release_environment =~ ^[A-Za-z0-9._-]{1,255}$ ]] || die "--release-environment: a GitHub environment name (letters, digits, . _ -) is needed, got \"$release_environment\""
((autopilot && with_spot)) && die "--with-spot: an Autopilot cluster runs Spot Pods without a pool (spot: true in the workflow); drop --with-spot"
((autopilot)) && [[ -n $arm64_zones ]] && die "--arm64-zones: an Autopilot cluster places arm64 Pods itself; drop --arm64-zones"
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
release_name=kbuild-release
release=$release_name@$project.iam.gserviceaccount.com
dispatcher=kbuild-dispatcher@$project.iam.gserviceaccount.com
dispatcher_name=kbuild-dispatcher
dispatcher_url=https://$dispatcher_name-$project_number.$region.run.app
pool_name=projects/$project_number/locations/global/workloadIdentityPools/$pool
provider_name=$pool_name/providers/$provider
context=gke_${project}_${region}_$cluster
namespace=kbuild
# What only the release account may write: objects under releases/ (IAM
# conditions name a bucket's objects projects/_/buckets/BUCKET/objects/NAME).
releases_prefix="projects/_/buckets/$bucket/objects/releases/"
repository_label=${repository:-repository $repository_id}

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

# run_may_fail is run for a command whose failure is expected and harmless.
run_may_fail() {
  run "$@" || echo "setup.sh: that failed; continuing (see the comment above it in setup.sh)" >&2
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
# release_repository_id is the repository's id only for a tag push or a job of
# the release environment (protect both: a tag ruleset, required reviewers on
# the environment); GitHub puts `environment` in the token only for such jobs.
release_mapping="attribute.release_repository_id=(assertion.ref.startsWith('refs/tags/') || (has(assertion.environment) && assertion.environment == '$release_environment')) ? assertion.repository_id : 'none'"
provider_args=(--project="$project" --location=global --workload-identity-pool="$pool"
  --display-name="GitHub Actions"
  --attribute-mapping="google.subject=assertion.sub,attribute.repository=assertion.repository,attribute.repository_id=assertion.repository_id,attribute.repository_owner_id=assertion.repository_owner_id,attribute.ref=assertion.ref,attribute.event_name=assertion.event_name,$release_mapping"
  --attribute-condition="assertion.repository_owner_id == '$owner_id'")
if missing gcloud iam workload-identity-pools providers describe "$provider" --project="$project" \
  --location=global --workload-identity-pool="$pool"; then
  run gcloud iam workload-identity-pools providers create-oidc "$provider" "${provider_args[@]}" \
    --issuer-uri="https://token.actions.githubusercontent.com"
else
  # An existing provider gets this script's mapping and condition (an older
  # setup.sh had no release_repository_id).
  run gcloud iam workload-identity-pools providers update-oidc "$provider" "${provider_args[@]}"
fi

step "3. the builder service account, impersonable by $repository_label (by its id, $repository_id)"
if missing gcloud iam service-accounts describe "$builder" --project="$project"; then
  run gcloud iam service-accounts create kbuild-builder --project="$project" \
    --display-name="kbuild-action builds"
fi
run gcloud iam service-accounts add-iam-policy-binding "$builder" --project="$project" \
  --role=roles/iam.workloadIdentityUser \
  --member="principalSet://iam.googleapis.com/$pool_name/attribute.repository_id/$repository_id"

step "4. bucket gs://$bucket (uniform access; the builder may read, and create objects outside releases/)"
bucket_existed=0
if missing gcloud storage buckets describe "gs://$bucket" --project="$project"; then
  run gcloud storage buckets create "gs://$bucket" --project="$project" --location="$region" \
    --uniform-bucket-level-access --public-access-prevention
else
  bucket_existed=1
fi
# objectCreator creates objects and cannot replace or delete one: a published
# artifact stays. The condition keeps releases/ to the release account, so a
# pull request's build cannot write a future release's objects first.
run gcloud storage buckets add-iam-policy-binding "gs://$bucket" --member="serviceAccount:$builder" \
  --role=roles/storage.objectCreator \
  --condition="^:^title=kbuild-not-releases:description=anything but releases/:expression=!resource.name.startsWith(\"$releases_prefix\")"
if ((bucket_existed)); then
  # An older setup.sh granted objectCreator without a condition; it would
  # still allow releases/. Removing it fails when there is none: that is fine.
  run_may_fail gcloud storage buckets remove-iam-policy-binding "gs://$bucket" \
    --member="serviceAccount:$builder" --role=roles/storage.objectCreator --condition=None
fi
run gcloud storage buckets add-iam-policy-binding "gs://$bucket" --member="serviceAccount:$builder" \
  --role=roles/storage.objectViewer
# upload: cluster: the build pods upload as their own Kubernetes service account
# kbuild-uploader (deploy/kubernetes/base), through Workload Identity Federation for
# GKE, principal form: it may create (not under releases/) and read objects here.
uploader="principal://iam.googleapis.com/projects/$project_number/locations/global/workloadIdentityPools/$project.svc.id.goog/subject/ns/$namespace/sa/kbuild-uploader"
run gcloud storage buckets add-iam-policy-binding "gs://$bucket" --member="$uploader" \
  --role=roles/storage.objectCreator \
  --condition="^:^title=kbuild-not-releases:description=anything but releases/:expression=!resource.name.startsWith(\"$releases_prefix\")"
run gcloud storage buckets add-iam-policy-binding "gs://$bucket" --member="$uploader" \
  --role=roles/storage.objectViewer
# staging: bucket: the builder uploads each build's context under kbuild-staging/ and
# deletes it after the build (objectUser there only); a lifecycle rule removes what a
# cancelled run left behind after a day. Note: this sets the bucket's whole lifecycle
# configuration; merge it by hand if the bucket already has rules.
run gcloud storage buckets add-iam-policy-binding "gs://$bucket" --member="serviceAccount:$builder" \
  --role=roles/storage.objectUser \
  --condition="^:^title=kbuild-staging:description=context archives only:expression=resource.name.startsWith(\"projects/_/buckets/$bucket/objects/kbuild-staging/\")"
lifecycle=$(mktemp "${TMPDIR:-/tmp}/kbuild-lifecycle.XXXXXX.json")
printf '{"rule":[{"action":{"type":"Delete"},"condition":{"age":1,"matchesPrefix":["kbuild-staging/"]}}]}\n' >"$lifecycle"
run gcloud storage buckets update "gs://$bucket" --lifecycle-file="$lifecycle"

if ((with_release)); then
  step "5. the release service account: tags and the $release_environment environment of $repository_label; writes releases/ only"
  if missing gcloud iam service-accounts describe "$release" --project="$project"; then
    run gcloud iam service-accounts create "$release_name" --project="$project" \
      --display-name="kbuild-action release builds"
  fi
  run gcloud iam service-accounts add-iam-policy-binding "$release" --project="$project" \
    --role=roles/iam.workloadIdentityUser \
    --member="principalSet://iam.googleapis.com/$pool_name/attribute.release_repository_id/$repository_id"
  run gcloud storage buckets add-iam-policy-binding "gs://$bucket" --member="serviceAccount:$release" \
    --role=roles/storage.objectCreator \
    --condition="^:^title=kbuild-releases-only:description=releases/ only:expression=resource.name.startsWith(\"$releases_prefix\")"
fi

if ((autopilot)); then
  step "6. GKE Autopilot cluster $cluster in $region (nodes per Pod: amd64, arm64, Spot)"
  if missing gcloud container clusters describe "$cluster" --project="$project" --location="$region"; then
    # Workload Identity, Shielded nodes and secure boot are always on in Autopilot.
    run gcloud container clusters create-auto "$cluster" --project="$project" --location="$region" \
      --release-channel=regular
  fi
else
  step "6. GKE cluster $cluster in $region with amd64 and arm64 node pools"
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
fi

step "7. cluster access: IAM to read the cluster, Kubernetes RBAC (namespace $namespace) for the rest"
run gcloud projects add-iam-policy-binding "$project" --member="serviceAccount:$builder" \
  --role=roles/container.clusterViewer --condition=None
if ((with_release)); then
  run gcloud projects add-iam-policy-binding "$project" --member="serviceAccount:$release" \
    --role=roles/container.clusterViewer --condition=None
fi
run gcloud container clusters get-credentials "$cluster" --project="$project" --location="$region"
apply_manifests deploy/kubernetes/base
if ((with_release)); then
  apply_manifests deploy/kubernetes/release
fi

if ((with_dispatcher)); then
  step "8. the dispatcher: its own service account, Role and Cloud Run function"
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
    --runtime=nodejs24 --source=build/dispatcher --entry-point=dispatcher \
    --trigger-http --allow-unauthenticated --service-account="$dispatcher" \
    --max-instances=10 --timeout=3600s \
    --set-env-vars="^|^KBUILD_PROJECT_ID=$project|KBUILD_LOCATION=$region|KBUILD_CLUSTER=$cluster|KBUILD_NAMESPACE=$namespace|KBUILD_AUDIENCE=$dispatcher_url|KBUILD_POLICY=$policy"
fi

# step_inputs prints the `with:` lines every kbuild step on this project
# shares, for the service account $1 (default: the builder). YOUR_ORG stands
# for the repository kbuild-action is installed from (README.md).
step_inputs() {
  cat <<EOF
      - uses: YOUR_ORG/kbuild-action@v1
        with:
          workload_identity_provider: $provider_name
          service_account: ${1:-$builder}
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
EOF
# Autopilot has no node pools to pin: it provisions a node for each Pod's
# nodeSelector (kubernetes.io/arch from `arch`).
# shellcheck disable=SC2016 # a GitHub expression, not the shell's
((autopilot)) || echo '          node_pool: ${{ matrix.arch }}-pool'
cat <<'EOF'
          image: buildpack-deps:bookworm
          packages: hello
EOF
if ((with_release)); then
  step "release builds (on a tag push, or in the $release_environment environment) use the release account and write under releases/:"
  step_inputs "$release"
  cat <<'EOF'
          image: buildpack-deps:bookworm
          packages: hello
          destination: releases/{owner}/{repo}/${{ github.ref_name }}/{arch}/{build}
EOF
fi
if ((with_dispatcher)); then
  step "with the dispatcher, one step fans the packages out (mode: dispatch):"
  step_inputs
  cat <<EOF
          mode: dispatch
          dispatcher_url: $dispatcher_url
          image: buildpack-deps:bookworm
          packages: hello zlib
          archs: amd64 arm64
EOF
fi
