#!/usr/bin/env bash
# Deploys an overlay in release order: the configuration and the secrets, then the migration Job (which must complete),
# then the worker, the trace retention CronJob and the API's Rollout, whose canary then runs by itself
# (docs/operations.md, "Deploying to Kubernetes"). Needs kubectl with access to the cluster; --dry-run only renders,
# and needs no cluster.
#   deploy/k8s/deploy.sh dev|prod [--image REF] [--namespace NS] [--host HOST] [--secrets PREFIX]
#                        [--config KEY=VALUE]... [--no-canary] [--no-enforce] [--dry-run]
#     --image REF         the image to run: registry/name@sha256:<digest> (prod accepts nothing else), or
#                         registry/name:tag with --no-enforce (the admission policies refuse a tag)
#     --namespace NS      deploy there instead of the overlay's namespace (preview environments: pr-<number>)
#     --host HOST         the public host name (HTTPRoute, Auth:Issuer, passkeys) instead of the overlay's
#     --secrets PREFIX    read the secret store's entries PREFIX/runtime and PREFIX/migrations instead of the overlay's
#     --config KEY=VALUE  set a setting of the ConfigMap, by its environment variable name (Cache__Enabled=false);
#                         repeatable
#     --no-canary         no canary steps: the release goes straight to 100 % (an environment with too little traffic
#                         for the analysis to give a verdict, as a preview)
#     --no-enforce        do not label the namespace admission.app/enforce=true, which subjects it to deploy/policies
#                         (a cluster without the policies, or an image by tag)
#     --dry-run           print the manifests that would be applied and stop
set -euo pipefail

K8S="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
usage="usage: $0 dev|prod [--image REF] [--namespace NS] [--host HOST] [--secrets PREFIX] [--config KEY=VALUE]... [--no-canary] [--no-enforce] [--dry-run]"
overlay="${1:-}"
[ "$overlay" = dev ] || [ "$overlay" = prod ] || { echo "$usage" >&2; exit 2; }
shift
image=""; namespace=""; host=""; secrets=""; no_canary=""; enforce=1; dry_run=""; config=()
while [ $# -gt 0 ]; do
  case "$1" in
    --image) image="$2"; shift 2 ;;
    --namespace) namespace="$2"; shift 2 ;;
    --host) host="$2"; shift 2 ;;
    --secrets) secrets="$2"; shift 2 ;;
    --config)
      case "$2" in
        *[\"\'\\]*) echo "--config $2: quotes and backslashes are not accepted in a setting" >&2; exit 2 ;;
        [A-Za-z_]*=*) config+=("$2") ;;
        *) echo "--config needs KEY=VALUE: $2" >&2; exit 2 ;;
      esac
      shift 2 ;;
    --no-canary) no_canary=1; shift ;;
    --no-enforce) enforce=""; shift ;;
    --dry-run) dry_run=1; shift ;;
    *) echo "unknown option: $1" >&2; echo "$usage" >&2; exit 2 ;;
  esac
done

# The release's own layer over the overlay, in a directory kustomize accepts (beside the overlays, gitignored).
work="$(mktemp -d "$K8S/.release.XXXXXX")"
trap 'rm -rf "$work"' EXIT
rendered_image="$(kubectl kustomize "$K8S/overlays/$overlay" | awk '$1 == "image:" { print $2; exit }')"
image_name="${rendered_image%@*}"
image_name="${image_name%:*}"
patches=()
if [ -n "$host" ]; then
  patches+=("  - target: {kind: HTTPRoute, name: app-api}
    patch: '[{\"op\": \"replace\", \"path\": \"/spec/hostnames\", \"value\": [\"$host\"]}]'")
  config+=("Auth__Issuer=https://$host" "Passkeys__RelyingPartyId=$host" "Passkeys__Origins__0=https://$host")
fi
if [ -n "$secrets" ]; then
  patches+=("  - target: {kind: ExternalSecret, name: app-runtime}
    patch: '[{\"op\": \"replace\", \"path\": \"/spec/dataFrom/0/extract/key\", \"value\": \"$secrets/runtime\"}]'
  - target: {kind: ExternalSecret, name: app-migrations}
    patch: '[{\"op\": \"replace\", \"path\": \"/spec/data/0/remoteRef/key\", \"value\": \"$secrets/migrations\"}]'")
fi
if [ ${#config[@]} -gt 0 ]; then
  ops=""
  for setting in "${config[@]}"; do
    ops="$ops${ops:+, }{\"op\": \"add\", \"path\": \"/data/${setting%%=*}\", \"value\": \"${setting#*=}\"}"
  done
  patches+=("  - target: {kind: ConfigMap, name: app-config}
    patch: '[$ops]'")
fi
if [ -n "$no_canary" ]; then
  patches+=("  - target: {kind: Rollout, name: app-api}
    patch: '[{\"op\": \"replace\", \"path\": \"/spec/strategy/canary/steps\", \"value\": []}]'")
fi
{
  echo "apiVersion: kustomize.config.k8s.io/v1beta1"
  echo "kind: Kustomization"
  echo "resources: [../overlays/$overlay]"
  [ -n "$namespace" ] && echo "namespace: $namespace"
  if [ -n "$image" ]; then
    echo "images:"
    echo "  - name: $image_name"
    case "$image" in
      *@sha256:*) echo "    newName: ${image%@*}"; echo "    digest: ${image#*@}" ;;
      *:*) echo "    newName: ${image%:*}"; echo "    newTag: ${image##*:}" ;;
      *) echo "--image needs a tag or a digest: $image" >&2; exit 2 ;;
    esac
  fi
  if [ ${#patches[@]} -gt 0 ]; then
    echo "patches:"
    printf '%s\n' "${patches[@]}"
  fi
} > "$work/kustomization.yaml"
manifests="$work/manifests.yaml"
kubectl kustomize "$work" > "$manifests"

if grep -q '@sha256:0\{64\}$' "$manifests"; then
  echo "the image is the overlay's all-zero placeholder digest: pass --image registry/name@sha256:<the built image's digest>" >&2
  exit 1
fi
if grep -E '^ +image: ' "$manifests" | grep -qv '@sha256:'; then
  if [ "$overlay" = prod ]; then
    echo "prod runs images by digest only" >&2
    exit 1
  fi
  if [ -n "$enforce" ]; then
    echo "an image by tag in a namespace that enforces deploy/policies would be refused at admission: pass a digest, or --no-enforce" >&2
    exit 1
  fi
fi
if [ -n "$dry_run" ]; then
  cat "$manifests"
  exit 0
fi

ns="$(awk '$1 == "namespace:" { print $2; exit }' "$manifests")"
kubectl create namespace "$ns" --dry-run=client -o yaml | kubectl apply -f - > /dev/null
if [ -n "$enforce" ]; then
  # What the ValidatingAdmissionPolicyBindings of deploy/policies select: the cluster now refuses what the gate does.
  kubectl label namespace "$ns" admission.app/enforce=true --overwrite > /dev/null
fi

# 1. What the release reads: configuration, secrets, policies, monitoring (not the workloads, not the migration, not
# the scheduled maintenance, which runs the new code and so waits for the new schema).
kubectl apply -f "$manifests" -l 'app.kubernetes.io/component notin (migration,api,worker,maintenance)'
kubectl -n "$ns" wait --for=condition=Ready externalsecret --all --timeout=2m

# 2. The migration, as the schema owner; a Job's template cannot change, so the previous run goes first. It ends
# Complete or Failed (its backoffLimit spent, or its activeDeadlineSeconds); whichever comes first ends the wait.
kubectl -n "$ns" delete job app-migrate --ignore-not-found --wait=true
kubectl apply -f "$manifests" -l 'app.kubernetes.io/component=migration'
outcome=""
for _ in $(seq 1 120); do
  conditions="$(kubectl -n "$ns" get job app-migrate -o jsonpath='{range .status.conditions[?(@.status=="True")]}{.type} {end}')"
  case " $conditions" in
    *" Complete "*) outcome=Complete; break ;;
    *" Failed "*) outcome=Failed; break ;;
  esac
  sleep 5
done
if [ "$outcome" != Complete ]; then
  kubectl -n "$ns" logs -l job-name=app-migrate --all-containers --prefix --tail=100 >&2 || true
  echo "the migration ${outcome:+ended $outcome}${outcome:-did not end within 10 minutes}: nothing else was released" >&2
  exit 1
fi

# 3. The worker, the scheduled maintenance and the API: the Rollout starts its canary (kubectl argo rollouts get
# rollout app-api -n $ns --watch). A CronJob has nothing to wait for: its next run uses what is applied here.
kubectl apply -f "$manifests" -l 'app.kubernetes.io/component!=migration'
echo "released to $ns; the canary is under way: kubectl argo rollouts get rollout app-api -n $ns --watch"
