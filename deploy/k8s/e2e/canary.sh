#!/usr/bin/env bash
# The canary end to end on a kind cluster, in both directions. It installs what the manifests expect of a cluster
# (Gateway API with Envoy Gateway, Argo Rollouts with its Gateway API plugin, prometheus-operator with a Prometheus,
# External Secrets with a fake store, PostgreSQL and Redis in "data"; every chart, manifest and image at a fixed
# version), deploys the dev overlay with deploy/k8s/deploy.sh (the local image by tag, so --no-enforce: the policies
# refuse a tag, and this cluster does not install them), and drives traffic through the Gateway. Then:
#   1. a harmless release (the pod template gains RELEASE=healthy) must go through every step: the rollout ends
#      Healthy on a new stable ReplicaSet, and every analysis run of that release is Successful;
#   2. a deliberately broken build (the same image whose model calls all fail) must be stopped by the analysis: the
#      rollout is aborted (Degraded), the route sends nothing to the canary, and the previous stable version serves.
# Needs docker, kind, helm and kubectl, and the image loaded as app-api:e2e (.github/workflows/canary-e2e.yml does all
# of it; on a laptop: docker build -t app-api:e2e -f deploy/container/Dockerfile . && kind create cluster
# && kind load docker-image app-api:e2e && deploy/k8s/e2e/canary.sh).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)"
cd "$ROOT"
NS=app-dev
HOST=app-dev.example.com
ARGO_ROLLOUTS=v1.8.3
GATEWAY_PLUGIN=v0.8.0
ENVOY_GATEWAY=v1.7.2
KUBE_PROMETHEUS_STACK=82.7.0
EXTERNAL_SECRETS=1.1.1
POSTGRES_IMAGE=postgres:16.4-alpine
REDIS_IMAGE=redis:7.4.1-alpine
FORTIO_IMAGE=fortio/fortio:1.69.5

step() { echo "::group::$*" 2> /dev/null || true; echo "== $*"; }
end() { echo "::endgroup::" 2> /dev/null || true; }

install_cluster_services() {
  step "Envoy Gateway and a Gateway the route attaches to"
  helm install eg oci://docker.io/envoyproxy/gateway-helm --version "$ENVOY_GATEWAY" -n envoy-gateway-system --create-namespace --wait
  kubectl apply -f - << 'YAML'
apiVersion: gateway.networking.k8s.io/v1
kind: GatewayClass
metadata:
  name: eg
spec:
  controllerName: gateway.envoyproxy.io/gatewayclass-controller
---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata:
  name: app-gateway
  namespace: envoy-gateway-system
spec:
  gatewayClassName: eg
  listeners:
    - name: http
      protocol: HTTP
      port: 80
      allowedRoutes:
        namespaces:
          from: All
YAML
  kubectl -n envoy-gateway-system wait --for=condition=Programmed gateway/app-gateway --timeout=5m
  end

  step "Argo Rollouts $ARGO_ROLLOUTS with the Gateway API plugin $GATEWAY_PLUGIN"
  kubectl create namespace argo-rollouts
  kubectl apply -n argo-rollouts -f "https://github.com/argoproj/argo-rollouts/releases/download/$ARGO_ROLLOUTS/install.yaml"
  kubectl apply -f - << YAML
apiVersion: v1
kind: ConfigMap
metadata:
  name: argo-rollouts-config
  namespace: argo-rollouts
data:
  trafficRouterPlugins: |-
    - name: argoproj-labs/gatewayAPI
      location: https://github.com/argoproj-labs/rollouts-plugin-trafficrouter-gatewayapi/releases/download/$GATEWAY_PLUGIN/gatewayapi-plugin-linux-amd64
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata:
  name: argo-rollouts-gateway-api-plugin
rules:
  - apiGroups: [""]
    resources: [services]
    verbs: [get]
  - apiGroups: [gateway.networking.k8s.io]
    resources: [httproutes]
    verbs: [get, list, update, patch]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata:
  name: argo-rollouts-gateway-api-plugin
roleRef:
  apiGroup: rbac.authorization.k8s.io
  kind: ClusterRole
  name: argo-rollouts-gateway-api-plugin
subjects:
  - kind: ServiceAccount
    name: argo-rollouts
    namespace: argo-rollouts
YAML
  kubectl -n argo-rollouts rollout restart deployment/argo-rollouts
  kubectl -n argo-rollouts rollout status deployment/argo-rollouts --timeout=5m
  end

  step "prometheus-operator and a Prometheus that reads every namespace's PodMonitors and rules"
  helm repo add prometheus-community https://prometheus-community.github.io/helm-charts > /dev/null
  helm install kps prometheus-community/kube-prometheus-stack --version "$KUBE_PROMETHEUS_STACK" -n monitoring --create-namespace --wait \
    --set grafana.enabled=false --set alertmanager.enabled=false \
    --set nodeExporter.enabled=false --set kubeStateMetrics.enabled=false \
    --set prometheus.prometheusSpec.scrapeInterval=15s \
    --set prometheus.prometheusSpec.podMonitorSelectorNilUsesHelmValues=false \
    --set prometheus.prometheusSpec.ruleSelectorNilUsesHelmValues=false
  end

  step "External Secrets with a fake ClusterSecretStore, PostgreSQL and Redis in 'data'"
  helm repo add external-secrets https://charts.external-secrets.io > /dev/null
  helm install external-secrets external-secrets/external-secrets --version "$EXTERNAL_SECRETS" -n external-secrets --create-namespace --wait
  kubectl create namespace data
  kubectl -n data create deployment postgres --image="$POSTGRES_IMAGE" --port=5432
  kubectl -n data set env deployment/postgres POSTGRES_PASSWORD=e2e-superuser
  kubectl -n data expose deployment postgres --port=5432
  kubectl -n data create deployment redis --image="$REDIS_IMAGE" --port=6379
  kubectl -n data expose deployment redis --port=6379
  kubectl -n data rollout status deployment/postgres --timeout=5m
  kubectl -n data rollout status deployment/redis --timeout=5m
  for _ in $(seq 1 30); do
    kubectl -n data exec deployment/postgres -- pg_isready -U postgres > /dev/null 2>&1 && break
    sleep 2
  done
  kubectl -n data exec -i deployment/postgres -- psql -U postgres -v ON_ERROR_STOP=1 \
    -v owner_password=e2e-owner -v runtime_password=e2e-runtime -v database=app -f - < deploy/postgres/bootstrap.sql
  local key
  key="$(head -c 32 /dev/urandom | base64)"
  # The chart's --wait does not wait for its admission webhook to serve: the first applies may be refused.
  local store
  store="$(cat << YAML
apiVersion: external-secrets.io/v1
kind: ClusterSecretStore
metadata:
  name: app-secret-store
spec:
  provider:
    fake:
      data:
        - key: app/dev/runtime
          value: '{"ConnectionStrings__Postgres": "Host=postgres.data.svc;Database=app;Username=app_runtime;Password=e2e-runtime", "Redis__ConnectionString": "redis.data.svc:6379", "Encryption__ActiveKey": "e2e", "Encryption__Keys__e2e": "$key"}'
        - key: app/dev/migrations
          value: '{"ConnectionStrings__PostgresMigrations": "Host=postgres.data.svc;Database=app;Username=app_owner;Password=e2e-owner"}'
YAML
)"
  for attempt in $(seq 1 30); do
    kubectl apply -f - <<< "$store" && break
    [ "$attempt" -lt 30 ] || { echo "the ClusterSecretStore was refused for a minute" >&2; return 1; }
    sleep 2
  done
  end
}

# The dev overlay through deploy.sh, in Development so that `dev-token` can mint the load's token, without the
# response cache and the rate limits (cached answers and refusals would hide the broken build's upstream failures from
# the analysis). The first release of a Rollout has no canary: it goes straight to Healthy.
deploy_app() {
  step "Deploy the dev overlay with deploy.sh (image app-api:e2e)"
  bash deploy/k8s/deploy.sh dev --image app-api:e2e --no-enforce \
    --config ASPNETCORE_ENVIRONMENT=Development --config Database__MigrateOnStart=false \
    --config Cache__Enabled=false --config Traffic__Enabled=false
  kubectl -n "$NS" wait --for=jsonpath='{.status.phase}'=Healthy rollout/app-api --timeout=10m
  end
}

# The hash of the pod template the controller now sees, once it differs from the given one.
next_pod_hash() {
  local hash
  for _ in $(seq 1 60); do
    hash="$(kubectl -n "$NS" get rollout app-api -o jsonpath='{.status.currentPodHash}')"
    [ -n "$hash" ] && [ "$hash" != "$1" ] && { echo "$hash"; return 0; }
    sleep 2
  done
  echo "the Rollout did not take the new template" >&2
  return 1
}

# The canary's weight on every rule of the route, one per line.
canary_weights() {
  kubectl -n "$NS" get httproute app-api -o jsonpath='{range .spec.rules[*]}{.backendRefs[?(@.name=="app-api-canary")].weight}{"\n"}{end}'
}

start_load() {
  step "Traffic through the Gateway: /v1/models and /v1/chat/completions"
  local gateway token
  gateway="$(kubectl -n envoy-gateway-system get service -l gateway.envoyproxy.io/owning-gateway-name=app-gateway -o jsonpath='{.items[0].metadata.name}')"
  token="$(kubectl -n "$NS" exec deployment/app-worker -- dotnet App.Api.dll dev-token --tenant e2e --user load --scope 'chat:invoke' 2> /dev/null | tail -n1)"
  kubectl create namespace loadgen
  # At 1 % the canary must see at least 0.5 requests/s (0.2 on the LLM routes) for the analysis to give a verdict.
  kubectl -n loadgen run models --image="$FORTIO_IMAGE" --restart=Never -- \
    load -qps 80 -c 8 -t 40m -H "Host: $HOST" -H "Authorization: Bearer $token" \
    "http://$gateway.envoy-gateway-system.svc/v1/models"
  kubectl -n loadgen run chat --image="$FORTIO_IMAGE" --restart=Never -- \
    load -qps 40 -c 8 -t 40m -H "Host: $HOST" -H "Authorization: Bearer $token" -H "Content-Type: application/json" \
    -payload '{"model":"offline","messages":[{"role":"user","content":"Say hello."}],"max_tokens":8}' \
    "http://$gateway.envoy-gateway-system.svc/v1/chat/completions"
  kubectl -n loadgen wait --for=condition=Ready pod/models pod/chat --timeout=2m
  end
}

healthy_release_is_promoted() {
  step "Release a harmless change: it must pass every analysis and become stable"
  local stable canary phases
  stable="$(kubectl -n "$NS" get rollout app-api -o jsonpath='{.status.stableRS}')"
  kubectl -n "$NS" patch rollout app-api --type=json -p='[
    {"op": "add", "path": "/spec/template/spec/containers/0/env/-", "value": {"name": "RELEASE", "value": "healthy"}}
  ]'
  canary="$(next_pod_hash "$stable")"
  # Three steps of a one-minute pause and an analysis of three measurements a minute apart.
  if ! kubectl -n "$NS" wait --for=jsonpath='{.status.stableRS}'="$canary" rollout/app-api --timeout=25m; then
    kubectl -n "$NS" get rollout app-api -o yaml
    kubectl -n "$NS" get analysisrun -o yaml
    echo "the healthy release did not become stable" >&2
    return 1
  fi
  kubectl -n "$NS" wait --for=jsonpath='{.status.phase}'=Healthy rollout/app-api --timeout=5m
  kubectl -n "$NS" get analysisrun -l rollouts-pod-template-hash="$canary" -o custom-columns=NAME:.metadata.name,PHASE:.status.phase
  phases="$(kubectl -n "$NS" get analysisrun -l rollouts-pod-template-hash="$canary" -o jsonpath='{.items[*].status.phase}' | tr ' ' '\n' | sort | uniq -c)"
  [ "$(echo "$phases" | awk '{ print $2 }' | sort -u)" = Successful ] || { echo "not every analysis run succeeded: $phases" >&2; return 1; }
  [ "$(echo "$phases" | awk '$2 == "Successful" { print $1 }')" -ge 3 ] || { echo "fewer than 3 analysis runs: $phases" >&2; return 1; }
  [ -z "$(canary_weights | grep -vx 0)" ] || { echo "the canary keeps a weight on the route after the promotion" >&2; return 1; }
  end
}

broken_canary_is_rolled_back() {
  step "Release a broken build: every model call fails (an upstream that refuses connections)"
  local stable
  stable="$(kubectl -n "$NS" get rollout app-api -o jsonpath='{.status.stableRS}')"
  kubectl -n "$NS" patch rollout app-api --type=json -p='[
    {"op": "add", "path": "/spec/template/spec/containers/0/env/-", "value": {"name": "Llm__Models__offline__Deployments__0__Provider", "value": "openai"}},
    {"op": "add", "path": "/spec/template/spec/containers/0/env/-", "value": {"name": "Llm__Models__offline__Deployments__0__BaseUrl", "value": "http://127.0.0.1:9/v1"}},
    {"op": "add", "path": "/spec/template/spec/containers/0/env/-", "value": {"name": "Llm__Models__offline__Deployments__0__ApiKey", "value": "broken"}}
  ]'
  # 1 % for a minute, then the analysis: a failed metric aborts the rollout within a few minutes.
  if ! kubectl -n "$NS" wait --for=jsonpath='{.status.phase}'=Degraded rollout/app-api --timeout=20m; then
    kubectl -n "$NS" get rollout app-api -o yaml
    kubectl -n "$NS" get analysisrun -o yaml
    echo "the broken canary was not rolled back" >&2
    return 1
  fi
  kubectl -n "$NS" get analysisrun -o custom-columns=NAME:.metadata.name,PHASE:.status.phase,MESSAGE:.status.message
  [ "$(kubectl -n "$NS" get rollout app-api -o jsonpath='{.status.abort}')" = true ] || { echo "the rollout is Degraded but not aborted" >&2; return 1; }
  [ "$(kubectl -n "$NS" get rollout app-api -o jsonpath='{.status.stableRS}')" = "$stable" ] || { echo "the stable ReplicaSet changed" >&2; return 1; }
  [ "$(kubectl -n "$NS" get analysisrun -o jsonpath='{.items[*].status.phase}' | tr ' ' '\n' | grep -c Failed)" -ge 1 ] || { echo "no analysis run failed" >&2; return 1; }
  [ -z "$(canary_weights | grep -vx 0)" ] || { echo "the canary still has a weight on the route: $(canary_weights | tr '\n' ' ')" >&2; return 1; }
  end

  step "The stable version serves"
  sleep 30
  local gateway token
  gateway="$(kubectl -n envoy-gateway-system get service -l gateway.envoyproxy.io/owning-gateway-name=app-gateway -o jsonpath='{.items[0].metadata.name}')"
  token="$(kubectl -n "$NS" exec deployment/app-worker -- dotnet App.Api.dll dev-token --tenant e2e --user check --scope 'chat:invoke' 2> /dev/null | tail -n1)"
  kubectl -n loadgen run check --image="$FORTIO_IMAGE" --restart=Never --attach --rm -- \
    load -qps 20 -c 2 -n 100 -H "Host: $HOST" -H "Authorization: Bearer $token" -H "Content-Type: application/json" \
    -payload '{"model":"offline","messages":[{"role":"user","content":"Still there?"}],"max_tokens":8}' \
    "http://$gateway.envoy-gateway-system.svc/v1/chat/completions" | tee /tmp/check.txt
  grep -q 'Code 200 : 100 ' /tmp/check.txt || { echo "the stable version did not answer every request" >&2; return 1; }
  end
}

install_cluster_services
deploy_app
start_load
healthy_release_is_promoted
broken_canary_is_rolled_back
echo "canary-e2e: the healthy release was promoted through every analysis; the broken build was rolled back and the stable version serves"
