#!/usr/bin/env bash
# Deploys an overlay in release order: the configuration and the secrets, then the migration Job (which must complete),
# then the worker and the API's Rollout, whose canary then runs by itself (docs/operations.md, "Deploying to
# Kubernetes"). Needs kubectl with access to the cluster; --dry-run only renders, and needs no cluster.
#   deploy/k8s/deploy.sh dev|prod [--image REF] [--namespace NS] [--host HOST] [--secrets PREFIX] [--dry-run]
#     --image REF       the image to run: registry/name@sha256:<digest> (prod accepts nothing else) or registry/name:tag
#     --namespace NS    deploy there instead of the overlay's namespace (preview environments: pr-<number>)
#     --host HOST       the public host name (HTTPRoute, Auth:Issuer, passkeys) instead of the overlay's
#     --secrets PREFIX  read the secret store's entries PREFIX/runtime and PREFIX/migrations instead of the overlay's
#     --dry-run         print the manifests that would be applied and stop
set -euo pipefail

K8S="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
overlay="${1:-}"
[ "$overlay" = dev ] || [ "$overlay" = prod ] || { echo "usage: $0 dev|prod [--image REF] [--namespace NS] [--host HOST] [--secrets PREFIX] [--dry-run]" >&2; exit 2; }
shift
image=""; namespace=""; host=""; secrets=""; dry_run=""
while [ $# -gt 0 ]; do
  case "$1" in
    --image) image="$2"; shift 2 ;;
    --namespace) namespace="$2"; shift 2 ;;
    --host) host="$2"; shift 2 ;;
    --secrets) secrets="$2"; shift 2 ;;
    --dry-run) dry_run=1; shift ;;
    *) echo "unknown option: $1" >&2; exit 2 ;;
  esac
done

# The release's own layer over the overlay, in a directory kustomize accepts (beside the overlays, gitignored).
work="$(mktemp -d "$K8S/.release.XXXXXX")"
trap 'rm -rf "$work"' EXIT
rendered_image="$(kubectl kustomize "$K8S/overlays/$overlay" | awk '$1 == "image:" { print $2; exit }')"
image_name="${rendered_image%@*}"
image_name="${image_name%:*}"
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
  if [ -n "$host" ] || [ -n "$secrets" ]; then
    echo "patches:"
  fi
  if [ -n "$host" ]; then
    cat << PATCH
  - target: {kind: HTTPRoute, name: app-api}
    patch: '[{"op": "replace", "path": "/spec/hostnames", "value": ["$host"]}]'
  - target: {kind: ConfigMap, name: app-config}
    patch: '[{"op": "replace", "path": "/data/Auth__Issuer", "value": "https://$host"}, {"op": "replace", "path": "/data/Passkeys__RelyingPartyId", "value": "$host"}, {"op": "replace", "path": "/data/Passkeys__Origins__0", "value": "https://$host"}]'
PATCH
  fi
  if [ -n "$secrets" ]; then
    cat << PATCH
  - target: {kind: ExternalSecret, name: app-runtime}
    patch: '[{"op": "replace", "path": "/spec/dataFrom/0/extract/key", "value": "$secrets/runtime"}]'
  - target: {kind: ExternalSecret, name: app-migrations}
    patch: '[{"op": "replace", "path": "/spec/data/0/remoteRef/key", "value": "$secrets/migrations"}]'
PATCH
  fi
} > "$work/kustomization.yaml"
manifests="$work/manifests.yaml"
kubectl kustomize "$work" > "$manifests"

if grep -q '@sha256:0\{64\}$' "$manifests"; then
  echo "the image is the overlay's all-zero placeholder digest: pass --image registry/name@sha256:<the built image's digest>" >&2
  exit 1
fi
if [ "$overlay" = prod ] && grep -E '^ +image: ' "$manifests" | grep -qv '@sha256:'; then
  echo "prod runs images by digest only" >&2
  exit 1
fi
if [ -n "$dry_run" ]; then
  cat "$manifests"
  exit 0
fi

ns="$(awk '$1 == "namespace:" { print $2; exit }' "$manifests")"
kubectl create namespace "$ns" --dry-run=client -o yaml | kubectl apply -f - > /dev/null

# 1. What the release reads: configuration, secrets, policies, monitoring (not the workloads, not the migration).
kubectl apply -f "$manifests" -l 'app.kubernetes.io/component notin (migration,api,worker)'
kubectl -n "$ns" wait --for=condition=Ready externalsecret --all --timeout=2m

# 2. The migration, as the schema owner; a Job's template cannot change, so the previous run goes first.
kubectl -n "$ns" delete job app-migrate --ignore-not-found --wait=true
kubectl apply -f "$manifests" -l 'app.kubernetes.io/component=migration'
if ! kubectl -n "$ns" wait --for=condition=Complete job/app-migrate --timeout=10m; then
  kubectl -n "$ns" logs job/app-migrate --tail=100 >&2 || true
  echo "the migration did not complete: nothing else was released" >&2
  exit 1
fi

# 3. The worker and the API: the Rollout starts its canary (kubectl argo rollouts get rollout app-api -n $ns --watch).
kubectl apply -f "$manifests" -l 'app.kubernetes.io/component!=migration'
echo "released to $ns; the canary is under way: kubectl argo rollouts get rollout app-api -n $ns --watch"
