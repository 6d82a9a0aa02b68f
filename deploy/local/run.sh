#!/usr/bin/env bash
# Runs the service on http://127.0.0.1:5080 with working defaults: the built-in offline model (no key, no
# network), a local PostgreSQL and Redis started on loopback (installed first if missing). With
# APP_USE_DOCKER=1 and Docker available, the servers come from deploy/compose/compose.yaml instead.
# Ctrl+C stops the service and the servers this script started.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$ROOT"

if [ "${APP_USE_DOCKER:-0}" = "1" ] && docker info > /dev/null 2>&1; then
  docker compose -f deploy/compose/compose.yaml up -d --wait
  trap 'docker compose -f deploy/compose/compose.yaml down' EXIT
else
  deploy/local/servers.sh start
  trap 'deploy/local/servers.sh stop' EXIT
fi

export ASPNETCORE_ENVIRONMENT="${ASPNETCORE_ENVIRONMENT:-Development}"
dotnet run --project src/App.Api --launch-profile http -- --urls "${APP_URLS:-http://127.0.0.1:5080}"
