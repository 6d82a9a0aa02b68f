#!/usr/bin/env bash
# The migrations gate, a dry run before a release:
#   1. drift: `dotnet ef migrations has-pending-model-changes` fails when the model the code builds differs from the
#      last migration's snapshot (a model change someone forgot to add a migration for);
#   2. the idempotent SQL script of every migration (`App.Api migrations-script`) written to OUTPUT_DIR, for review
#      (the GitHub workflow publishes it as an artifact);
#   3. with --admin-url, that script applied twice to a disposable database set up by deploy/postgres/bootstrap.sql
#      (as the owner role, as production runs migrations): the second run must change nothing and fail nothing.
#
#   deploy/ci/migrations.sh [--no-build] [--admin-url postgresql://postgres:...@host:port/postgres] [OUTPUT_DIR]
#
# OUTPUT_DIR defaults to artifacts/migrations. The suite runs the same checks in-process (MigrationDriftTests,
# MigrationScriptTests).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."

build=1
admin_url=""
out="artifacts/migrations"
while [ $# -gt 0 ]; do
  case "$1" in
    --no-build) build="" ;;
    --admin-url) admin_url="$2"; shift ;;
    -*) echo "unknown option: $1" >&2; exit 2 ;;
    *) out="$1" ;;
  esac
  shift
done
mkdir -p "$out"

dotnet tool restore > /dev/null
[ -n "$build" ] && dotnet build src/App.Api/App.Api.csproj -c Release --nologo -v quiet
echo "migrations: checking the model against the last migration"
dotnet ef migrations has-pending-model-changes --project src/App.Infrastructure --startup-project src/App.Infrastructure \
  --configuration Release --no-build

dotnet run --project src/App.Api -c Release --no-build --no-launch-profile -- migrations-script > "$out/migrations.sql"
grep -q 'CREATE SCHEMA' "$out/migrations.sql" || { echo "migrations: the script has no CREATE SCHEMA" >&2; exit 1; }
echo "migrations: $out/migrations.sql ($(grep -c '^' "$out/migrations.sql") lines)"

if [ -n "$admin_url" ]; then
  database="migrations_dry_run_$$"
  owner_password="$(head -c 18 /dev/urandom | base64 | tr -dc 'A-Za-z0-9')"
  psql "$admin_url" -q -v ON_ERROR_STOP=1 -v owner_password="$owner_password" -v runtime_password="$owner_password" \
    -v database="$database" -f deploy/postgres/bootstrap.sql > /dev/null
  owner_url="$(sed -E "s#^(postgres(ql)?://)[^@]*@([^/]*)/.*#\1app_owner:${owner_password}@\3/${database}#" <<< "$admin_url")"
  for run in first second; do
    psql "$owner_url" -q -v ON_ERROR_STOP=1 -f "$out/migrations.sql" > /dev/null
    echo "migrations: the script applied to $database ($run run)"
  done
  psql "$admin_url" -q -c "DROP DATABASE $database WITH (FORCE)" > /dev/null
fi
echo "migrations: passed"
