#!/usr/bin/env bash
# Runs every test project. Tests that need PostgreSQL or Redis start real servers themselves (Testcontainers
# when Docker answers, otherwise the local binaries this script installs if missing). Ends with one line:
#   N passed, N failed, N skipped
# and exits non-zero if anything failed or did not run.
set -uo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$ROOT"
RESULTS="$ROOT/artifacts/test-results"

# Chromium only for the browser tests, which a solution made without the page (dotnet new ... --page false) lacks.
browser=""
[ -d tests/App.BrowserTests ] && browser=--with-browser
deploy/local/install-deps.sh $browser --with-prometheus --with-kubectl || { echo "0 passed, 1 failed"; exit 1; }

# The test fixtures stop the servers they start; a test host killed before its exit handlers ran cannot, so
# whatever is left in their temp directories is stopped here, by pid.
stop_leftover_servers() {
  for pidfile in "${TMPDIR:-/tmp}"/app-redis-*/redis.pid; do
    [ -f "$pidfile" ] && kill "$(cat "$pidfile")" 2> /dev/null
  done
  for data in "${TMPDIR:-/tmp}"/app-pg-*/data; do
    if [ -f "$data/postmaster.pid" ]; then
      kill -INT "$(head -n1 "$data/postmaster.pid")" 2> /dev/null
    fi
  done
  return 0
}
trap stop_leftover_servers EXIT
rm -rf "$RESULTS"
mkdir -p "$RESULTS"

export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1
# APP_TEST_NO_BUILD=1: test the Release build already in the tree (the CI workflow's test job unpacks its build job's).
if [ "${APP_TEST_NO_BUILD:-0}" != "1" ] && ! dotnet build App.sln -c Release --nologo -v quiet; then
  echo "0 passed, 1 failed"
  exit 1
fi

status=0
for project in tests/*Tests/*.csproj; do
  name="$(basename "$project" .csproj)"
  echo "=== $name"
  dotnet test "$project" -c Release --no-build --nologo \
    --logger "trx;LogFileName=$name.trx" --logger "console;verbosity=normal" \
    --results-directory "$RESULTS" -- RunConfiguration.TestSessionTimeout=1800000 \
    || status=1
done

passed=0; failed=0; skipped=0; expected=0
for project in tests/*Tests/*.csproj; do
  expected=$((expected + 1))
  trx="$RESULTS/$(basename "$project" .csproj).trx"
  if [ ! -f "$trx" ]; then
    echo "no results for $(basename "$project" .csproj)" >&2
    failed=$((failed + 1)); status=1
    continue
  fi
  counters="$(grep -o '<Counters [^>]*>' "$trx")"
  get() { echo "$counters" | grep -o " $1=\"[0-9]*\"" | grep -o '[0-9]*'; }
  total=$(get total); executed=$(get executed); p=$(get passed); f=$(get failed)
  passed=$((passed + p)); failed=$((failed + f + $(get error) + $(get timeout) + $(get aborted)))
  skipped=$((skipped + total - executed))
done

# The failures again, just above the summary, so the tail of a long log names them.
if [ "$failed" -gt 0 ]; then
  echo "--- failed tests"
  for trx in "$RESULTS"/*.trx; do
    [ -f "$trx" ] || continue
    awk '
      /<UnitTestResult / && /outcome="Failed"/ {
        match($0, /testName="[^"]*"/); name = substr($0, RSTART + 10, RLENGTH - 11); infail = 1; lines = 0
        gsub(/&quot;/, "\"", name); gsub(/&amp;/, "\\&", name); print "FAILED " name; next
      }
      infail && /<\/UnitTestResult>/ { infail = 0 }
      infail && lines < 12 && !/^[[:space:]]*<\/?(Output|ErrorInfo|StdOut)>?[[:space:]]*$/ {
        gsub(/&lt;/, "<"); gsub(/&gt;/, ">"); gsub(/&quot;/, "\""); gsub(/&amp;/, "\\&"); gsub(/<\/?(Message|StackTrace|ErrorInfo|Output|StdOut)>/, "")
        if ($0 ~ /[^[:space:]]/) { print "    " $0; lines++ }
      }' "$trx"
  done
fi

[ "$failed" -gt 0 ] && status=1
[ "$passed" -eq 0 ] && status=1
echo "$passed passed, $failed failed, $skipped skipped"
exit $status
