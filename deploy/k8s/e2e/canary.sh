#!/usr/bin/env bash
# The canary end to end on a kind cluster: installs what the manifests expect of a cluster (Gateway API with Envoy
# Gateway, Argo Rollouts with its Gateway API plugin, prometheus-operator with a Prometheus, External Secrets with a
# fake store, PostgreSQL and Redis in "data"), deploys the dev overlay with deploy.sh, drives traffic through the
# Gateway, then releases a deliberately broken build (the same image whose model calls all fail) and asserts that the
# analysis fails it: the rollout is aborted (Degraded), the route sends nothing to the canary, and the stable version
# serves. Needs docker, kind, helm and kubectl, and the image loaded as app-api:e2e (.github/workflows/canary-e2e.yml
# does all of it; on a laptop: docker build -t app-api:e2e -f deploy/container/Dockerfile . && kind create cluster
# && kind load docker-image app-api:e2e && deploy/k8s/e2e/canary.sh).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)"
cd "$ROOT"
NS=app-dev
HOST=app-dev.example.com
ARGO_ROLLOUTS=v1.8.3
GATEWAY_PLUGIN=v0.8.0
ENVOY_GATEWAY=v1.7.2

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
  helm install kps prometheus-community/kube-prometheus-stack -n monitoring --create-namespace --wait \
    --set grafana.enabled=false --set alertmanager.enabled=false \
    --set nodeExporter.enabled=false --set kubeStateMetrics.enabled=false \
    --set prometheus.prometheusSpec.scrapeInterval=15s \
    --set prometheus.prometheusSpec.podMonitorSelectorNilUsesHelmValues=false \
    --set prometheus.prometheusSpec.ruleSelectorNilUsesHelmValues=false
  end

  step "External Secrets with a fake ClusterSecretStore, PostgreSQL and Redis in 'data'"
  helm repo add external-secrets https://charts.external-secrets.io > /dev/null
  helm install external-secrets external-secrets/external-secrets -n external-secrets --create-namespace --wait
  kubectl create namespace data
  kubectl -n data create deployment postgres --image=postgres:16-alpine --port=5432
  kubectl -n data set env deployment/postgres POSTGRES_PASSWORD=e2e-superuser
  kubectl -n data expose deployment postgres --port=5432
  kubectl -n data create deployment redis --image=redis:7-alpine --port=6379
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
  kubectl apply -f - << YAML
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
  end
}

# The dev overlay, in Development so that `dev-token` can mint the load's token, without the response cache and the
# rate limits (cached answers and refusals would hide the broken build's upstream failures from the analysis).
deploy_app() {
  step "Deploy the dev overlay (image app-api:e2e)"
  local layer
  layer="$(mktemp -d deploy/k8s/.release.e2e.XXXXXX)"
  cat > "$layer/kustomization.yaml" << 'YAML'
apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
resources: [../overlays/dev]
patches:
  - target: {kind: ConfigMap, name: app-config}
    patch: |-
      - {op: replace, path: /data/ASPNETCORE_ENVIRONMENT, value: Development}
      - {op: add, path: /data/Database__MigrateOnStart, value: "false"}
      - {op: add, path: /data/Cache__Enabled, value: "false"}
      - {op: add, path: /data/Traffic__Enabled, value: "false"}
YAML
  kubectl kustomize "$layer" > "$layer/manifests.yaml"
  sed -i 's#image: ghcr.io/example/app-api@sha256:0\{64\}#image: app-api:e2e#' "$layer/manifests.yaml"
  kubectl create namespace "$NS"
  kubectl apply -f "$layer/manifests.yaml" -l 'app.kubernetes.io/component notin (migration,api,worker)'
  kubectl -n "$NS" wait --for=condition=Ready externalsecret --all --timeout=2m
  kubectl apply -f "$layer/manifests.yaml" -l 'app.kubernetes.io/component=migration'
  kubectl -n "$NS" wait --for=condition=Complete job/app-migrate --timeout=5m
  kubectl apply -f "$layer/manifests.yaml" -l 'app.kubernetes.io/component!=migration'
  rm -rf "$layer"
  kubectl -n "$NS" wait --for=jsonpath='{.status.phase}'=Healthy rollout/app-api --timeout=10m
  end
}

start_load() {
  step "Traffic through the Gateway: /v1/models and /v1/chat/completions"
  local gateway token
  gateway="$(kubectl -n envoy-gateway-system get service -l gateway.envoyproxy.io/owning-gateway-name=app-gateway -o jsonpath='{.items[0].metadata.name}')"
  token="$(kubectl -n "$NS" exec deployment/app-worker -- dotnet App.Api.dll dev-token --tenant e2e --user load --scope 'chat:invoke' 2> /dev/null | tail -n1)"
  kubectl create namespace loadgen
  # At 1 % the canary must see at least 0.5 requests/s (0.2 on the LLM routes) for the analysis to give a verdict.
  kubectl -n loadgen run models --image=fortio/fortio:latest_release --restart=Never -- \
    load -qps 80 -c 8 -t 40m -H "Host: $HOST" -H "Authorization: Bearer $token" \
    "http://$gateway.envoy-gateway-system.svc/v1/models"
  kubectl -n loadgen run chat --image=fortio/fortio:latest_release --restart=Never -- \
    load -qps 40 -c 8 -t 40m -H "Host: $HOST" -H "Authorization: Bearer $token" -H "Content-Type: application/json" \
    -payload '{"model":"offline","messages":[{"role":"user","content":"Say hello."}],"max_tokens":8}' \
    "http://$gateway.envoy-gateway-system.svc/v1/chat/completions"
  kubectl -n loadgen wait --for=condition=Ready pod/models pod/chat --timeout=2m
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
  local weight
  weight="$(kubectl -n "$NS" get httproute app-api -o jsonpath='{.spec.rules[0].backendRefs[?(@.name=="app-api-canary")].weight}')"
  [ "$weight" = 0 ] || { echo "the canary still has weight $weight on the route" >&2; return 1; }
  end

  step "The stable version serves"
  sleep 30
  local gateway token
  gateway="$(kubectl -n envoy-gateway-system get service -l gateway.envoyproxy.io/owning-gateway-name=app-gateway -o jsonpath='{.items[0].metadata.name}')"
  token="$(kubectl -n "$NS" exec deployment/app-worker -- dotnet App.Api.dll dev-token --tenant e2e --user check --scope 'chat:invoke' 2> /dev/null | tail -n1)"
  kubectl -n loadgen run check --image=fortio/fortio:latest_release --restart=Never --attach --rm -- \
    load -qps 20 -c 2 -n 100 -H "Host: $HOST" -H "Authorization: Bearer $token" -H "Content-Type: application/json" \
    -payload '{"model":"offline","messages":[{"role":"user","content":"Still there?"}],"max_tokens":8}' \
    "http://$gateway.envoy-gateway-system.svc/v1/chat/completions" | tee /tmp/check.txt
  grep -q 'Code 200 : 100 ' /tmp/check.txt || { echo "the stable version did not answer every request" >&2; return 1; }
  end
}

install_cluster_services
deploy_app
start_load
broken_canary_is_rolled_back
echo "canary-e2e: the broken build was rolled back and the stable version serves"
