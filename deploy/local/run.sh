#!/usr/bin/env bash
# Runs the service on http://127.0.0.1:5080 with working defaults: the built-in offline model (no key, no
# network), a local PostgreSQL and Redis started on loopback (installed first if missing). With
# APP_USE_DOCKER=1 and Docker available, the servers come from deploy/compose/compose.yaml instead.
# Ports: the service APP_URLS (http://127.0.0.1:5080), PostgreSQL APP_PG_PORT (55432), Redis APP_REDIS_PORT (56379).
# Ctrl+C (or SIGTERM) stops the service gracefully and then the servers this script started.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$ROOT"

if [ "${APP_USE_DOCKER:-0}" = "1" ] && docker info > /dev/null 2>&1; then
  docker compose -f deploy/compose/compose.yaml up -d --wait
  stop_servers() { docker compose -f deploy/compose/compose.yaml down; }
else
  deploy/local/servers.sh start
  stop_servers() { deploy/local/servers.sh stop; }
  # The servers' ports (APP_PG_PORT, APP_REDIS_PORT) reach the app, unless its connection strings are set already.
  PG_PORT="${APP_PG_PORT:-55432}"
  export ConnectionStrings__Postgres="${ConnectionStrings__Postgres:-Host=127.0.0.1;Port=$PG_PORT;Database=app;Username=app_runtime;Password=runtime}"
  export ConnectionStrings__PostgresMigrations="${ConnectionStrings__PostgresMigrations:-Host=127.0.0.1;Port=$PG_PORT;Database=app;Username=app_owner;Password=owner}"
  export Redis__ConnectionString="${Redis__ConnectionString:-127.0.0.1:${APP_REDIS_PORT:-56379}}"
fi

# APP_CONFIGURATION=Release runs the Release build; APP_NO_BUILD=1 runs the build already in the tree as it is (the CI
# workflow's load job runs its build job's).
CONFIGURATION="${APP_CONFIGURATION:-Debug}"
[ "${APP_NO_BUILD:-0}" = "1" ] || dotnet build src/App.Api -c "$CONFIGURATION" --nologo -v quiet

export ASPNETCORE_ENVIRONMENT="${ASPNETCORE_ENVIRONMENT:-Development}"
# After a crash the next start says how many traces it lost (docs/operations.md).
export Traces__LedgerPath="${Traces__LedgerPath:-$ROOT/.local/traces.ledger}"
# The app runs as a child we signal ourselves, so that a stop always reaches it, terminal or not.
dotnet "src/App.Api/bin/$CONFIGURATION/net10.0/App.Api.dll" --urls "${APP_URLS:-http://127.0.0.1:5080}" --contentRoot "$ROOT/src/App.Api" &
app=$!
shutdown() {
  trap - INT TERM EXIT
  kill -TERM "$app" 2> /dev/null || true
  wait "$app" 2> /dev/null || true
  stop_servers
}
trap shutdown INT TERM EXIT
wait "$app"
