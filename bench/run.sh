#!/usr/bin/env bash
# Runs the gateway benchmarks side by side with the direct floor and prints a markdown table.
#   bash bench/run.sh [duration-seconds]     (default 10; the figures in docs/benchmarks.md used 10)
# The gateway runs pinned to core 1 (taskset -c 1); the fake upstream and the load generator share core 0.
# Everything binds to 127.0.0.1 and is stopped by pid at the end.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
DURATION="${1:-10}"
UP_PORT=18090; STREAM_PORT=18091; GW_PORT=18092
OUT="$(mktemp -d)"
# A fresh PostgreSQL and Redis per run, on ports of their own: the figures must not depend on what earlier runs
# left in the trace table. They are not pinned: pinned beside the load generator they starve and the gateway with them.
export APP_DATA_DIR="$OUT/data" APP_PG_PORT=18093 APP_REDIS_PORT=18094
[ "$(id -u)" -eq 0 ] && chmod 755 "$OUT"
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2> /dev/null || true; done; deploy/local/servers.sh stop > /dev/null 2>&1 || true; [ -n "${BENCH_KEEP:-}" ] && echo "logs kept in $OUT" >&2 || rm -rf "$OUT"; }
trap cleanup EXIT

dotnet build App.sln -c Release --nologo -v quiet > /dev/null
deploy/local/servers.sh start > /dev/null

API=src/App.Api/bin/Release/net10.0/App.Api.dll
UPSTREAM=tests/App.FakeUpstream/bin/Release/net10.0/App.FakeUpstream.dll
BENCH=bench/App.Bench/bin/Release/net10.0/App.Bench.dll

taskset -c 0 dotnet "$UPSTREAM" --port $UP_PORT --latency-ms 0 --chunks 16 > "$OUT/upstream.log" 2>&1 & pids+=($!)
taskset -c 0 dotnet "$UPSTREAM" --port $STREAM_PORT --latency-ms 0 --chunks 64 --chunk-interval-ms 20 > "$OUT/stream.log" 2>&1 & pids+=($!)

export ASPNETCORE_ENVIRONMENT=Development
gateway_env=(
  Serilog__MinimumLevel__Default=Warning
  Redis__ConnectionString=127.0.0.1:$APP_REDIS_PORT
  ConnectionStrings__Postgres="Host=127.0.0.1;Port=$APP_PG_PORT;Database=app;Username=app_runtime;Password=runtime"
  ConnectionStrings__PostgresMigrations="Host=127.0.0.1;Port=$APP_PG_PORT;Database=app;Username=app_owner;Password=owner"
  Database__MigrateOnStart=true
  Llm__Models__bench__Deployments__0__Provider=openai
  Llm__Models__bench__Deployments__0__BaseUrl=http://127.0.0.1:$UP_PORT/v1
  Llm__Models__bench__Deployments__0__ApiKey=bench
  Llm__Models__bench__Deployments__0__Model=bench
  Llm__Models__benchstream__Deployments__0__Provider=openai
  Llm__Models__benchstream__Deployments__0__BaseUrl=http://127.0.0.1:$STREAM_PORT/v1
  Llm__Models__benchstream__Deployments__0__ApiKey=bench
  Llm__Models__benchstream__Deployments__0__Model=bench
  Llm__Resilience__MaxConcurrency=4096
  Llm__Resilience__QueueLimit=4096
  # The real path: rate limits and budget accounting on (one Redis script before and one after each call), with
  # quotas the load cannot reach, so what is measured is their cost, not their refusals.
  Traffic__RateLimits__RequestsPerMinute=1000000000
  Traffic__RateLimits__TokensPerMinute=1000000000000
)
# Extra gateway settings, e.g. to see what a feature costs: BENCH_GATEWAY_ENV="Traffic__Enabled=false Guard__Routes__chat=Off"
read -r -a extra_env <<< "${BENCH_GATEWAY_ENV:-}"
gateway_env+=("${extra_env[@]}")
# Scenarios to run: all (default) or only the closed-loop ones (BENCH_ONLY=closed) for quick comparisons.
ONLY="${BENCH_ONLY:-all}"
env "${gateway_env[@]}" taskset -c 1 dotnet "$API" --urls "http://127.0.0.1:$GW_PORT" --contentRoot "$ROOT/src/App.Api" > "$OUT/gateway.log" 2>&1 & GW_PID=$!; pids+=($GW_PID)
for _ in $(seq 1 120); do curl -sf "http://127.0.0.1:$GW_PORT/health/live" > /dev/null && break; sleep 0.5; done
for _ in $(seq 1 60); do curl -sf -X POST "http://127.0.0.1:$UP_PORT/v1/chat/completions" -H 'content-type: application/json' -d '{"model":"x","messages":[{"role":"user","content":"x"}]}' > /dev/null && break; sleep 0.5; done
TOKEN="$(env "${gateway_env[@]}" dotnet "$API" dev-token --tenant bench --user bench --scope chat:invoke --contentRoot "$ROOT/src/App.Api" 2> /dev/null)"

load() { taskset -c 0 dotnet "$BENCH" load --duration "$DURATION" --warmup 2 "$@"; }
echo "| scenario | mode | requests | req/s | errors % | p50 ms | p90 ms | p99 ms | p99.9 ms | TTFT p50 | TTFT p99 | max gap p50 | gateway CPU s/1k | gateway peak RSS MB |"
echo "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"
[ "$ONLY" = "all" ] && for rate in 250 1000; do
  load --label "direct" --mode open --rate $rate --url "http://127.0.0.1:$UP_PORT/v1/chat/completions"
  load --label "gateway, cache off" --mode open --rate $rate --url "http://127.0.0.1:$GW_PORT/v1/chat/completions" --token "$TOKEN" --pid $GW_PID
done
for c in 16 64; do
  load --label "direct" --mode closed --connections $c --url "http://127.0.0.1:$UP_PORT/v1/chat/completions"
  load --label "gateway, cache off" --mode closed --connections $c --url "http://127.0.0.1:$GW_PORT/v1/chat/completions" --token "$TOKEN" --pid $GW_PID
  load --label "gateway, cache hit" --mode closed --connections $c --deterministic --url "http://127.0.0.1:$GW_PORT/v1/chat/completions" --token "$TOKEN" --pid $GW_PID
done
[ "$ONLY" = "all" ] || exit 0
load --label "direct, stream 64x20ms" --mode closed --connections 16 --stream --url "http://127.0.0.1:$STREAM_PORT/v1/chat/completions"
load --label "gateway, stream 64x20ms" --mode closed --connections 16 --stream --model benchstream --url "http://127.0.0.1:$GW_PORT/v1/chat/completions" --token "$TOKEN" --pid $GW_PID
