#!/usr/bin/env bash
# The load gate: a profile of deploy/ci/load-budgets.json (pr: steady then spike; nightly: the 30-minute soak) run
# open loop against a running service, each phase held to the budgets of that file (p95 of the core and the model
# routes, errors, traces dropped, memory growth over a soak). Exit 0: every budget met; 1: one missed (the report
# names it); 2: the file or the arguments are wrong.
#
#   deploy/ci/load.sh [--profile pr|nightly] [--base URL] [--metrics URL]... [--namespace NS] [--model ALIAS]
#                     [--budgets FILE] [--token-file FILE] [--report FILE]
#
# Defaults: the local service of deploy/local/run.sh (http://127.0.0.1:5080, metrics on 127.0.0.1:9464), model
# `offline`. --namespace NS reads the metrics of every running app-api pod of a cluster's namespace instead, each
# through a kubectl port-forward to its management port (kubectl configured for the cluster). The token: --token-file; else LOAD_TOKEN_COMMAND, a command printing a fresh token, run every 4 minutes
# into a file the load generator re-reads (a soak outlasts a token); else the service's dev-token command (Development
# only) for tenant `load`. The load's tenant needs rate limits above the profile's peak rate (docs/ci.md).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."

BENCH=bench/App.Bench/bin/Release/net10.0/App.Bench.dll
API=src/App.Api/bin/Release/net10.0/App.Api.dll
args=()
has_token=""
namespace=""
while [ $# -gt 0 ]; do
  case "$1" in
    --namespace) namespace="$2"; shift 2 ;;
    --token-file) has_token=1; args+=("$1" "$2"); shift 2 ;;
    *) args+=("$1"); shift ;;
  esac
done
[ -f "$BENCH" ] || dotnet build bench/App.Bench -c Release --nologo -v quiet

work="$(mktemp -d)"
refresher=""
forwards=()
cleanup() {
  [ -z "$refresher" ] || kill "$refresher" 2> /dev/null || true
  for pid in "${forwards[@]}"; do kill "$pid" 2> /dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT

if [ -n "$namespace" ]; then
  port=19464
  for pod in $(kubectl -n "$namespace" get pods -l app.kubernetes.io/name=app-api --field-selector=status.phase=Running -o name); do
    kubectl -n "$namespace" port-forward "$pod" "$port:9464" > /dev/null 2>&1 &
    forwards+=($!)
    args+=(--metrics "http://127.0.0.1:$port/metrics")
    port=$((port + 1))
  done
  [ ${#forwards[@]} -gt 0 ] || { echo "load gate: no running app-api pod in namespace $namespace" >&2; exit 2; }
  for _ in $(seq 1 30); do
    curl -fsS -o /dev/null "http://127.0.0.1:19464/metrics" && break
    sleep 1
  done
fi

if [ -z "$has_token" ]; then
  token_command="${LOAD_TOKEN_COMMAND:-}"
  if [ -z "$token_command" ]; then
    [ -f "$API" ] || dotnet build src/App.Api -c Release --nologo -v quiet
    token_command="ASPNETCORE_ENVIRONMENT=Development dotnet $PWD/$API dev-token --tenant load --user load --scope chat:invoke --contentRoot $PWD/src/App.Api"
  fi
  fresh_token() {
    local token
    token="$(bash -c "$token_command")" || return 1
    [ -n "$token" ] || return 1
    printf '%s' "$token" > "$work/token.tmp" && mv "$work/token.tmp" "$work/token"
  }
  fresh_token || { echo "load gate: no token from: $token_command" >&2; exit 2; }
  # The renewer's sleep is stopped with it, so nothing of the gate outlives the gate (and holds its output open).
  (
    trap 'kill "$nap" 2> /dev/null; exit 0' TERM
    while :; do
      sleep 240 & nap=$!
      wait "$nap"
      fresh_token || echo "load gate: the token could not be renewed" >&2
    done
  ) &
  refresher=$!
  args+=(--token-file "$work/token")
fi

status=0
dotnet "$BENCH" gate "${args[@]}" || status=$?
exit "$status"
