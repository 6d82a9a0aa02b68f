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
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2> /dev/null || true; done; deploy/local/servers.sh stop > /dev/null 2>&1 || true; }
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
)
env "${gateway_env[@]}" taskset -c 1 dotnet "$API" --urls "http://127.0.0.1:$GW_PORT" --contentRoot "$ROOT/src/App.Api" > "$OUT/gateway.log" 2>&1 & GW_PID=$!; pids+=($GW_PID)
for _ in $(seq 1 120); do curl -sf "http://127.0.0.1:$GW_PORT/health/live" > /dev/null && break; sleep 0.5; done
for _ in $(seq 1 60); do curl -sf -X POST "http://127.0.0.1:$UP_PORT/v1/chat/completions" -H 'content-type: application/json' -d '{"model":"x","messages":[{"role":"user","content":"x"}]}' > /dev/null && break; sleep 0.5; done
TOKEN="$(dotnet "$API" dev-token --tenant bench --user bench --scope chat:invoke --contentRoot "$ROOT/src/App.Api" 2> /dev/null)"

load() { taskset -c 0 dotnet "$BENCH" load --duration "$DURATION" --warmup 2 "$@"; }
echo "| scenario | mode | requests | req/s | errors % | p50 ms | p90 ms | p99 ms | p99.9 ms | TTFT p50 | TTFT p99 | max gap p50 | gateway CPU s/1k | gateway peak RSS MB |"
echo "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"
for rate in 250 1000; do
  load --label "direct" --mode open --rate $rate --url "http://127.0.0.1:$UP_PORT/v1/chat/completions"
  load --label "gateway, cache off" --mode open --rate $rate --url "http://127.0.0.1:$GW_PORT/v1/chat/completions" --token "$TOKEN" --pid $GW_PID
done
for c in 16 64; do
  load --label "direct" --mode closed --connections $c --url "http://127.0.0.1:$UP_PORT/v1/chat/completions"
  load --label "gateway, cache off" --mode closed --connections $c --url "http://127.0.0.1:$GW_PORT/v1/chat/completions" --token "$TOKEN" --pid $GW_PID
  load --label "gateway, cache hit" --mode closed --connections $c --deterministic --url "http://127.0.0.1:$GW_PORT/v1/chat/completions" --token "$TOKEN" --pid $GW_PID
done
load --label "direct, stream 64x20ms" --mode closed --connections 16 --stream --url "http://127.0.0.1:$STREAM_PORT/v1/chat/completions"
load --label "gateway, stream 64x20ms" --mode closed --connections 16 --stream --model benchstream --url "http://127.0.0.1:$GW_PORT/v1/chat/completions" --token "$TOKEN" --pid $GW_PID
