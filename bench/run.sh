#!/usr/bin/env bash
# Runs the gateway benchmarks side by side with the direct floor and prints a markdown table.
#   bash bench/run.sh [duration-seconds] [--write-docs]
#     duration: seconds per scenario after 2 s of warm-up (default 10); the gateway first gets BENCH_WARMUP s of load
#     --write-docs: also rewrite the "Latest standard run" section of docs/benchmarks.md (table, machine, versions)
#   BENCH_PROFILE=standard (default) | steady | sweep | spike | soak | cold | saturation | peer | profile | flame | allocations | tail | embeddings
#     standard: open loop 250 and 1,000 req/s, closed loop 16 and 64 connections (miss and hit), a 50 ms upstream,
#               streaming; the open-loop and streaming scenarios also through a plain relay on the gateway's core
#     steady:   open loop 250, 1,000 and 2,000 req/s for BENCH_STEADY_SECONDS (default 60) each, direct, relay and gateway
#     sweep:    closed loop on the real path over 1, 4, 16, 64, 256 connections; the best with errors < 0.5 %
#     spike:    open loop 250 req/s with 2,500 req/s (10x) for 10 s in the middle of 30 s, direct and gateway
#     soak:     open loop at BENCH_SOAK_RATE (default 250) req/s for BENCH_SOAK_SECONDS (default 1800), on demand only
#     cold:     a new instance under load: the gateway started again (BENCH_COLD_ENV="K=V ..." adds settings to it,
#               BENCH_COLD_API names another build of it, e.g. a ReadyToRun publish), timed from its start to ready, then
#               loaded at once by a closed loop on the real path (BENCH_COLD_CONNECTIONS, default 16) for
#               BENCH_COLD_SECONDS (default 150): throughput per 5 s, and p50/p99 over 0-10, 10-30, 30-60 s and the last 30 s;
#               BENCH_COLD_CLIENT=wrk: the same closed loop from wrk, one 5 s run after another, each one's req/s, p50, p99
#     saturation: closed loop, 64 connections, on the real path and then on cache hits, each for
#               BENCH_SATURATION_SECONDS (default 600), the core full throughout; after each, once the trace queue is
#               empty, the chat requests the gateway answered against the traces it wrote and dropped and the calls
#               refused at admission (its own counters, read from the management listener)
#     peer:     this gateway against Portkey's open-source gateway from npm (bench/peer.sh says how), new and warm, from
#               wrk and from the load generator, cache hits against the direct call, time to first token, memory
#     allocations: what the gateway allocates per request (open loop at BENCH_PROFILE_RATE, default 250 req/s; the
#               runtime's allocation samples for the duration, at most 59 s), by type and by where it was allocated
#     tail:     which slow requests the gateway's garbage collections explain (open loop at BENCH_PROFILE_RATE, default
#               1,000 req/s, requests' latencies lined up with the runtime's GC events for the duration, at most 59 s;
#               BENCH_PROFILE_PATH=hit for cache hits)
#     profile:  CPU samples of the gateway under closed-loop load (64 connections, real path; BENCH_PROFILE_PATH=hit for
#               cache hits, =open for an open loop at BENCH_PROFILE_RATE req/s) and its costliest methods
#     flame:    the same samples as a flame graph: folded stacks, an SVG and a speedscope file in BENCH_FLAME_DIR
#               (default artifacts/flame), with run.md saying what was profiled
#     embeddings: in-process (App.Bench embeddings): the offline model's load time, memory and items/s, then the service
#               with Redis and PostgreSQL: items/s through POST /v1/embeddings missed and cached, a cached item's latency
#   BENCH_TIMELINE=file: the soak profile also writes every request's start and latency (the load generator's --timeline)
#   BENCH_JSON=file: also append every row as a JSON line to file (the load generator's --json)
#   BENCH_REDIS_DELAY_MS=N: the gateway's Redis replies held N ms by a relay (bench/App.Bench delay-proxy), a remote Redis
# The gateway runs pinned to core 1 (taskset -c 1); the fake upstream and the load generator share core 0.
# The CPU, RSS and switches columns are those of the process in the path: the gateway, or the relay.
# Everything binds to 127.0.0.1 and is stopped by pid at the end.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
DURATION="${1:-10}"
WRITE_DOCS="${2:-}"
PROFILE="${BENCH_PROFILE:-standard}"
if [ "$PROFILE" = embeddings ]; then
  # Runs in one process with servers of its own; none of the gateway-under-load set-up below applies.
  exec dotnet run -c Release --project bench/App.Bench -- embeddings
fi
UP_PORT=18090; STREAM_PORT=18091; GW_PORT=18092; SLOW_PORT=18095; MGMT_PORT=18102
OUT="$(mktemp -d)"
# A fresh PostgreSQL and Redis per run, on ports of their own: the figures must not depend on what earlier runs
# left in the trace table. They are not pinned: pinned beside the load generator they starve and the gateway with them.
export APP_DATA_DIR="$OUT/data" APP_PG_PORT=18093 APP_REDIS_PORT=18094
[ "$(id -u)" -eq 0 ] && chmod 755 "$OUT"
pids=()
# The processes first, waited for (at most 15 s each), then the servers: the gateway still writes to PostgreSQL while it
# stops (its last traces and audit checkpoint).
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2> /dev/null || true; done
  for p in "${pids[@]}"; do timeout 15 tail --pid="$p" -f /dev/null 2> /dev/null || kill -9 "$p" 2> /dev/null || true; done
  deploy/local/servers.sh stop > /dev/null 2>&1 || true
  [ -n "${BENCH_KEEP:-}" ] && echo "logs kept in $OUT" >&2 || rm -rf "$OUT"
  # The runtime's perf map and jitdump of a profiled gateway; kept with the logs, which perf report needs them for.
  [ -n "${BENCH_KEEP:-}" ] || [ -z "${GW_PID:-}" ] || rm -f "/tmp/perf-$GW_PID.map" "/tmp/perfinfo-$GW_PID.map" "/tmp/jit-$GW_PID.dump"
}
trap cleanup EXIT

dotnet build App.sln -c Release --nologo -v quiet > /dev/null
deploy/local/servers.sh start > /dev/null

# Every process here has one core (or shares one), where idle thread-pool workers that spin before they sleep only
# take the CPU from the others: the gateway turns that off by itself on one CPU (ProcessTuning), and the upstreams,
# the relay and the load generator get it from here. With spinning on, the upstream made 150-180 context switches
# per request and the direct call's p99 at 1,000 req/s was ~5 ms; with it off, 6 and under 1 ms.
export DOTNET_ThreadPool_UnfairSemaphoreSpinLimit=0

API=src/App.Api/bin/Release/net10.0/App.Api.dll
UPSTREAM=tests/App.FakeUpstream/bin/Release/net10.0/App.FakeUpstream.dll
BENCH=bench/App.Bench/bin/Release/net10.0/App.Bench.dll

taskset -c 0 dotnet "$UPSTREAM" --port $UP_PORT --latency-ms 0 --chunks 16 > "$OUT/upstream.log" 2>&1 & pids+=($!)
taskset -c 0 dotnet "$UPSTREAM" --port $SLOW_PORT --latency-ms 50 --chunks 16 > "$OUT/slow.log" 2>&1 & pids+=($!)
taskset -c 0 dotnet "$UPSTREAM" --port $STREAM_PORT --latency-ms 0 --chunks 64 --chunk-interval-ms 20 > "$OUT/stream.log" 2>&1 & pids+=($!)
# A plain TCP relay on the gateway's core in front of the 0 ms upstream and the streaming one: a read and a write per
# direction, nothing parsed, the least any process in a request's path can add on this split. Its rows ("relay on
# core 1") are the floor the gateway's added latency is read against, beside the direct call. It gets the settings
# the gateway applies to itself by default (inline socket completions; no thread-pool spinning, as everything here).
RELAY_PORT=18097; STREAM_RELAY_PORT=18098
relay_env=(DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS=1)
env "${relay_env[@]}" taskset -c 1 dotnet "$BENCH" delay-proxy --port $RELAY_PORT --target "127.0.0.1:$UP_PORT" --delay-ms 0 > "$OUT/relay.log" 2>&1 & RELAY_PID=$!; pids+=($RELAY_PID)
env "${relay_env[@]}" taskset -c 1 dotnet "$BENCH" delay-proxy --port $STREAM_RELAY_PORT --target "127.0.0.1:$STREAM_PORT" --delay-ms 0 > "$OUT/stream-relay.log" 2>&1 & STREAM_RELAY_PID=$!; pids+=($STREAM_RELAY_PID)
# The same floor from a native proxy: HAProxy pinned to the gateway's core, one thread, as a TCP relay in front of
# the 0 ms upstream ("haproxy tcp on core 1") and as an HTTP reverse proxy (it parses each request and reuses its
# connections to the upstream: the least a gateway does) in front of the 0 ms and the streaming upstreams ("haproxy
# http on core 1"). Installed when missing (deploy/local/install-deps.sh --with-haproxy); BENCH_HAPROXY=0 leaves the
# rows out, and so does a machine where it cannot be installed.
HAPROXY_TCP_PORT=18099; HAPROXY_HTTP_PORT=18100; HAPROXY_STREAM_PORT=18101; HAPROXY_PID=""
if [ "${BENCH_HAPROXY:-1}" != "0" ] && deploy/local/install-deps.sh --with-haproxy > /dev/null 2>&1; then
  cat > "$OUT/haproxy.cfg" << EOF
global
  nbthread 1
  maxconn 1000
defaults
  timeout connect 5s
  timeout client 60s
  timeout server 60s
frontend tcp
  mode tcp
  bind 127.0.0.1:$HAPROXY_TCP_PORT
  default_backend tcp
backend tcp
  mode tcp
  server upstream 127.0.0.1:$UP_PORT
frontend http
  mode http
  bind 127.0.0.1:$HAPROXY_HTTP_PORT
  default_backend http
backend http
  mode http
  http-reuse always
  server upstream 127.0.0.1:$UP_PORT
frontend stream
  mode http
  option http-no-delay
  bind 127.0.0.1:$HAPROXY_STREAM_PORT
  default_backend stream
backend stream
  mode http
  http-reuse always
  # Without it HAProxy sends with MSG_MORE and the kernel holds each small chunk up to 200 ms: what an SSE stream needs.
  option http-no-delay
  server upstream 127.0.0.1:$STREAM_PORT
EOF
  taskset -c 1 haproxy -db -f "$OUT/haproxy.cfg" > "$OUT/haproxy.log" 2>&1 & HAPROXY_PID=$!; pids+=($HAPROXY_PID)
else
  echo "haproxy rows left out (BENCH_HAPROXY=0, or haproxy could not be installed)" >&2
fi
# BENCH_REDIS_DELAY_MS=N: the gateway reaches Redis through a relay that holds its replies N ms, as if Redis were in
# another zone (1 ms measured 2.4 ms round trip here with redis-cli --latency: the timers' resolution adds to it).
GW_REDIS_PORT=$APP_REDIS_PORT
if [ -n "${BENCH_REDIS_DELAY_MS:-}" ]; then
  GW_REDIS_PORT=18096
  taskset -c 0 dotnet "$BENCH" delay-proxy --port $GW_REDIS_PORT --target "127.0.0.1:$APP_REDIS_PORT" --delay-ms "$BENCH_REDIS_DELAY_MS" > "$OUT/redis-delay.log" 2>&1 & pids+=($!)
fi

# The gateway runs as in production (no developer exception page, JSON logs at Warning), with its own
# encryption key; the token is minted by the dev-token command, which only runs in Development.
gateway_env=(
  ASPNETCORE_ENVIRONMENT=Production
  Encryption__ActiveKey=bench-1
  Encryption__Keys__bench-1=YmVuY2gtb25seS1rZXktMzItYnl0ZXMtbG9uZy1vayE=
  Serilog__MinimumLevel__Default=Warning
  Management__Urls=http://127.0.0.1:$MGMT_PORT
  Redis__ConnectionString=127.0.0.1:$GW_REDIS_PORT
  ConnectionStrings__Postgres="Host=127.0.0.1;Port=$APP_PG_PORT;Database=app;Username=app_runtime;Password=runtime"
  ConnectionStrings__PostgresMigrations="Host=127.0.0.1;Port=$APP_PG_PORT;Database=app;Username=app_owner;Password=owner"
  Llm__Models__bench__Deployments__0__Provider=openai
  Llm__Models__bench__Deployments__0__BaseUrl=http://127.0.0.1:$UP_PORT/v1
  Llm__Models__bench__Deployments__0__ApiKey=bench
  Llm__Models__bench__Deployments__0__Model=bench
  Llm__Models__benchslow__Deployments__0__Provider=openai
  Llm__Models__benchslow__Deployments__0__BaseUrl=http://127.0.0.1:$SLOW_PORT/v1
  Llm__Models__benchslow__Deployments__0__ApiKey=bench
  Llm__Models__benchslow__Deployments__0__Model=bench
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
# The profiles need the runtime to name its methods for perf: a perf map, and no double-mapped code. After the
# warm-up the hot methods have been recompiled by the tiered JIT and are in the map. Only the gateway gets them: the
# migration and the token minting would leave maps of their own in /tmp.
perf_env=()
case "$PROFILE" in profile | flame) perf_env=(DOTNET_PerfMapEnabled=1 DOTNET_EnableWriteXorExecute=0) ;; esac
# Extra gateway settings, e.g. to see what a feature costs: BENCH_GATEWAY_ENV="Traffic__Enabled=false Guard__Routes__chat=Off"
read -r -a extra_env <<< "${BENCH_GATEWAY_ENV:-}"
gateway_env+=("${extra_env[@]}")
# Scenarios to run: all (default), only the closed-loop ones, the 50 ms upstream included (BENCH_ONLY=closed), only
# 64 connections on the gateway, uncached and cache hit (BENCH_ONLY=quick), only streaming (BENCH_ONLY=stream) or
# only the open-loop rates (BENCH_ONLY=open), or only cache hits at fixed rates (BENCH_ONLY=hits), for quick comparisons.
ONLY="${BENCH_ONLY:-all}"
# Migrations run as a release step, as in production (docs/operations.md), not inside the gateway under test.
env "${gateway_env[@]}" dotnet "$API" migrate --contentRoot "$ROOT/src/App.Api" > "$OUT/migrate.log" 2>&1 || { cat "$OUT/migrate.log" >&2; exit 1; }
env "${gateway_env[@]}" "${perf_env[@]}" taskset -c 1 dotnet "$API" --urls "http://127.0.0.1:$GW_PORT" --contentRoot "$ROOT/src/App.Api" > "$OUT/gateway.log" 2>&1 & GW_PID=$!; pids+=($GW_PID)
for _ in $(seq 1 120); do curl -sf "http://127.0.0.1:$GW_PORT/health/live" > /dev/null && break; sleep 0.5; done
# Resident memory before any load: after start-up, and after the one compacting collection the host runs then.
sleep 5
IDLE_RSS_MB=$(awk '/^VmRSS:/ { printf "%.0f", $2 / 1024 }' "/proc/$GW_PID/status")
echo "gateway resident when idle after start: $IDLE_RSS_MB MB" >&2
for _ in $(seq 1 60); do curl -sf -X POST "http://127.0.0.1:$UP_PORT/v1/chat/completions" -H 'content-type: application/json' -d '{"model":"x","messages":[{"role":"user","content":"x"}]}' > /dev/null && break; sleep 0.5; done
# Access tokens live at most 5 minutes and a run lasts longer: the load generator reads the token from a file every
# 15 s (--token-file), and a fresh one is minted into it every 2 minutes, on the generator's core at low priority.
mint() { env "${gateway_env[@]}" ASPNETCORE_ENVIRONMENT=Development nice -n 19 taskset -c 0 dotnet "$API" dev-token --tenant bench --user bench --scope chat:invoke --contentRoot "$ROOT/src/App.Api" 2> /dev/null; }
TOKEN_FILE="$OUT/token"
mint > "$TOKEN_FILE"
[ -s "$TOKEN_FILE" ] || { echo "could not mint a token (dev-token)" >&2; exit 1; }
( while sleep 120; do mint > "$TOKEN_FILE.new" && [ -s "$TOKEN_FILE.new" ] && mv "$TOKEN_FILE.new" "$TOKEN_FILE"; done ) & pids+=($!)

json_args=(); [ -n "${BENCH_JSON:-}" ] && json_args=(--json "$BENCH_JSON")
load() { taskset -c 0 dotnet "$BENCH" load --duration "$DURATION" --warmup 2 "${json_args[@]}" "$@"; }
# Steady state, not start-up: the runtime compiles hot methods again with optimisations (tiered compilation), and
# in a process with one CPU it waits 1 s without any new first-time compilation before it starts counting calls
# (ten times the delay it uses with more CPUs), so under load the recompilation goes on for well over a minute:
# dotnet-counters on the gateway, flat out from a cold start, counted 2-3 s of compilation per 10 s still 60 s in,
# and little after ~85 s. Every profile therefore starts with BENCH_WARMUP seconds (default 180) of unrecorded
# load: half on the uncached path, a quarter each on cache hits and streams. Measured in one half hour: 60 s of
# warm-up gave 0.213 / 0.111 CPU-ms per uncached request / cache hit, 240 s gave 0.167 / 0.099.
warm_up() {
  # The relays too, briefly: a relay has little code to compile.
  taskset -c 0 dotnet "$BENCH" load --duration 5 --warmup 0 --mode closed --connections 16 --url "http://127.0.0.1:$RELAY_PORT/v1/chat/completions" > /dev/null
  taskset -c 0 dotnet "$BENCH" load --duration 3 --warmup 0 --mode closed --connections 4 --stream --url "http://127.0.0.1:$STREAM_RELAY_PORT/v1/chat/completions" > /dev/null
  if [ -n "$HAPROXY_PID" ]; then
    for port in $HAPROXY_TCP_PORT $HAPROXY_HTTP_PORT; do
      taskset -c 0 dotnet "$BENCH" load --duration 2 --warmup 0 --mode closed --connections 16 --url "http://127.0.0.1:$port/v1/chat/completions" > /dev/null
    done
  fi
  local total=${BENCH_WARMUP:-180}
  local quarter=$(( total / 4 ))
  [ "$total" -gt 0 ] || return 0
  taskset -c 0 dotnet "$BENCH" load --duration $(( total - 2 * quarter )) --warmup 0 --mode closed --connections 64 --url "$GW_URL" --token-file "$TOKEN_FILE" > /dev/null
  [ "$quarter" -gt 0 ] || return 0
  taskset -c 0 dotnet "$BENCH" load --duration "$quarter" --warmup 0 --mode closed --connections 64 --deterministic --url "$GW_URL" --token-file "$TOKEN_FILE" > /dev/null
  taskset -c 0 dotnet "$BENCH" load --duration "$quarter" --warmup 0 --mode closed --connections 16 --stream --model benchstream --url "$GW_URL" --token-file "$TOKEN_FILE" > /dev/null
}
# The relays' rows at an open-loop rate: the .NET relay, then HAProxy as a TCP relay and as an HTTP proxy.
relays_open() {
  local rate=$1
  load --label "relay on core 1" --mode open --rate "$rate" --url "http://127.0.0.1:$RELAY_PORT/v1/chat/completions" --pid $RELAY_PID
  [ -n "$HAPROXY_PID" ] || return 0
  load --label "haproxy tcp on core 1" --mode open --rate "$rate" --url "http://127.0.0.1:$HAPROXY_TCP_PORT/v1/chat/completions" --pid $HAPROXY_PID
  load --label "haproxy http on core 1" --mode open --rate "$rate" --url "http://127.0.0.1:$HAPROXY_HTTP_PORT/v1/chat/completions" --pid $HAPROXY_PID
}
header() {
  echo "| scenario | mode | requests | req/s | errors % | p50 ms | p90 ms | p99 ms | p99.9 ms | TTFT p50 | TTFT p99 | max gap p50 | CPU s/1k | peak RSS MB | switches/req | gw p50 ms | gw p99 ms |"
  echo "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"
}
# A new instance: the gateway stopped and started again (BENCH_COLD_ENV adds settings, BENCH_COLD_API names another
# build), timed from the process's start until /health/ready answers 200 (READY_MS).
restart_gateway() {
  kill "$GW_PID"; timeout 15 tail --pid="$GW_PID" -f /dev/null || kill -9 "$GW_PID"
  local cold_env started
  read -r -a cold_env <<< "${BENCH_COLD_ENV:-}"
  started=$(date +%s%N)
  env "${gateway_env[@]}" "${cold_env[@]}" taskset -c 1 dotnet "${BENCH_COLD_API:-$API}" --urls "http://127.0.0.1:$GW_PORT" --contentRoot "$ROOT/src/App.Api" > "$OUT/gateway-cold.log" 2>&1 & GW_PID=$!; pids+=($GW_PID)
  until curl -sf "http://127.0.0.1:$GW_PORT/health/ready" > /dev/null; do
    kill -0 "$GW_PID" 2> /dev/null || { cat "$OUT/gateway-cold.log" >&2; exit 1; }
    sleep 0.05
  done
  READY_MS=$(( ($(date +%s%N) - started) / 1000000 ))
}
# A wrk script posting one chat request (temperature $2: 0 is a cache hit after the first) with the headers given.
wrk_script() {
  local file=$1 temperature=$2; shift 2
  { echo 'wrk.method = "POST"'
    echo "wrk.body = '{\"model\":\"bench\",\"messages\":[{\"role\":\"user\",\"content\":\"benchmark request\"}],\"temperature\":$temperature}'"
    echo 'wrk.headers["Content-Type"] = "application/json"'
    for h in "$@"; do echo "wrk.headers[\"${h%%:*}\"] = \"${h#*: }\""; done
  } > "$file"
}
# What a wrk --latency run printed, as "req/s p50-ms p99-ms non-2xx".
wrk_summary() {
  awk 'function ms(v) { if (v ~ /us$/) return v / 1000; if (v ~ /ms$/) return v + 0; if (v ~ /s$/) return v * 1000; return v }
    /Requests\/sec:/ { rps = $2 } $1 == "50%" { p50 = ms($2) } $1 == "99%" { p99 = ms($2) } /Non-2xx/ { bad = $NF }
    END { printf "%d %.2f %.2f %d\n", rps, p50, p99, bad }' "$1"
}
GW_URL="http://127.0.0.1:$GW_PORT/v1/chat/completions"
[ "$PROFILE" = peer ] && BENCH_WARMUP=0
warm_up
case "$PROFILE" in
  peer)
    # shellcheck source=bench/peer.sh
    . "$ROOT/bench/peer.sh"
    exit 0 ;;
  sweep)
    header | tee "$OUT/table.md"
    for c in 1 4 16 64 256; do
      load --label "gateway, cache off" --mode closed --connections $c --url "$GW_URL" --token-file "$TOKEN_FILE" --pid $GW_PID | tee -a "$OUT/table.md"
    done
    # The highest throughput among the rows with errors under 0.5 %.
    awk -F'|' 'NR > 2 && $6 + 0 < 0.5 && $5 + 0 > best { best = $5 + 0; row = $3 } END { printf "best: %s req/s at%s(errors < 0.5 %%)\n", best, row }' "$OUT/table.md"
    exit 0 ;;
  steady)
    # Fixed rates held for a minute each (BENCH_STEADY_SECONDS), the direct floor beside the gateway.
    header
    for rate in 250 1000 2000; do
      DURATION="${BENCH_STEADY_SECONDS:-60}" load --label "direct" --mode open --rate $rate --url "http://127.0.0.1:$UP_PORT/v1/chat/completions"
      DURATION="${BENCH_STEADY_SECONDS:-60}" relays_open $rate
      DURATION="${BENCH_STEADY_SECONDS:-60}" load --label "gateway, cache off" --mode open --rate $rate --url "$GW_URL" --token-file "$TOKEN_FILE" --pid $GW_PID
    done
    exit 0 ;;
  spike)
    header
    for target in "direct|http://127.0.0.1:$UP_PORT/v1/chat/completions" "gateway, cache off|$GW_URL"; do
      label="${target%%|*}"; url="${target#*|}"
      taskset -c 0 dotnet "$BENCH" load --label "$label" --mode open --rate 250 --spike-rate 2500 --spike-at 10 --spike-seconds 10 \
        --duration 30 --warmup 2 --url "$url" --token-file "$TOKEN_FILE" $([ "$label" = "direct" ] || echo "--pid $GW_PID")
    done
    exit 0 ;;
  profile | flame)
    # CPU samples of the gateway (perf, with the runtime's perf map naming JIT-compiled methods) under closed-loop
    # load on the real path (64 connections, cache off), printed as the methods with the most samples (profile) or
    # drawn as a flame graph (flame).
    command -v perf > /dev/null || { echo "perf is needed (apt-get install linux-perf)" >&2; exit 1; }
    # perf keeps at most kernel.perf_event_max_stack frames of a stack and drops the rest from its root end: the
    # gateway's async request path is deeper than the default 127, and a cut stack stands apart from its tower.
    max_stack="$(cat /proc/sys/kernel/perf_event_max_stack 2> /dev/null || echo 127)"
    [ "$PROFILE" != "flame" ] || [ "$max_stack" -ge 512 ] || echo "kernel.perf_event_max_stack is $max_stack: deeper stacks lose their root frames (sudo sysctl -w kernel.perf_event_max_stack=1024 keeps them whole)" >&2
    # BENCH_PROFILE_PATH=hit profiles cache hits instead, BENCH_PROFILE_PATH=open an open loop at BENCH_PROFILE_RATE
    # (default 250) requests a second.
    path_args=(--label "gateway, cache off (profiled)" --mode closed --connections 64)
    [ "${BENCH_PROFILE_PATH:-}" = "hit" ] && path_args=(--label "gateway, cache hit (profiled)" --deterministic --mode closed --connections 64)
    [ "${BENCH_PROFILE_PATH:-}" = "open" ] && path_args=(--label "gateway, cache off (profiled)" --mode open --rate "${BENCH_PROFILE_RATE:-250}")
    taskset -c 0 dotnet "$BENCH" load "${path_args[@]}" \
      --duration "$((DURATION + 4))" --warmup 2 --url "$GW_URL" --token-file "$TOKEN_FILE" --pid $GW_PID > "$OUT/profiled.md" & load_pid=$!
    sleep 4
    perf record -F 499 -g -p $GW_PID -o "$OUT/perf.data" -- sleep "$DURATION" > "$OUT/perf.log" 2>&1
    wait $load_pid
    header; cat "$OUT/profiled.md"
    if [ "$PROFILE" = "flame" ]; then
      # The samples folded into stacks, drawn as an SVG flame graph and written as a speedscope file (App.Bench
      # flame), with what was profiled beside them; BENCH_FLAME_DIR is relative to the repository's root.
      flame_dir="${BENCH_FLAME_DIR:-artifacts/flame}"
      mkdir -p "$flame_dir"
      label="$(awk -F'|' '{ gsub(/^ +| +$/, "", $2); gsub(/^ +| +$/, "", $3); print $2 ", " $3; exit }' "$OUT/profiled.md")"
      title="$label: $DURATION s at $(date -u '+%Y-%m-%d %H:%M UTC'), commit $(git rev-parse --short HEAD 2> /dev/null || echo unknown)"
      echo
      # perf script stops at 127 frames unless told, whatever perf record kept.
      perf script --max-stack "$max_stack" -i "$OUT/perf.data" 2> "$OUT/perf-script.log" | dotnet "$BENCH" flame --perf-script - --max-stack "$max_stack" --out "$flame_dir" --title "$title" --top "${BENCH_TOP:-25}"
      {
        echo "# $title"
        echo
        echo "- command: \`BENCH_PROFILE=flame bash bench/run.sh $DURATION\` (warm-up ${BENCH_WARMUP:-180} s${BENCH_PROFILE_PATH:+, BENCH_PROFILE_PATH=$BENCH_PROFILE_PATH})"
        echo "- machine: $(nproc) cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)), kernel $(uname -r), perf_event_max_stack $max_stack; the gateway pinned to core 1, perf at 499 Hz"
        echo
        header; cat "$OUT/profiled.md"
      } > "$flame_dir/run.md"
      exit 0
    fi
    echo; echo "self (top ${BENCH_TOP:-40}):"
    perf report -i "$OUT/perf.data" --no-children --sort symbol --stdio -g none --percent-limit 0.3 2> /dev/null | grep -v '^#' | grep -v '^$' | head -n "${BENCH_TOP:-40}"
    echo; echo "inclusive (top ${BENCH_TOP:-40}):"
    perf report -i "$OUT/perf.data" --children --sort symbol --stdio -g none --percent-limit 1 2> /dev/null | grep -v '^#' | grep -v '^$' | head -n "${BENCH_TOP:-40}"
    exit 0 ;;
  allocations)
    # What the gateway allocates per request on the real path: an open loop at BENCH_PROFILE_RATE (default 250)
    # requests a second, with the runtime's allocation samples (dotnet-trace, gc-verbose) taken for DURATION seconds
    # in the middle of it, then summed by type and by the first frame outside the runtime's libraries.
    export PATH="$PATH:$HOME/.dotnet/tools"
    command -v dotnet-trace > /dev/null || dotnet tool install -g dotnet-trace --version 10.0.750501 > /dev/null
    rate="${BENCH_PROFILE_RATE:-250}"
    taskset -c 0 dotnet "$BENCH" load --label "gateway, cache off (allocations sampled)" --mode open --rate "$rate" \
      --duration "$((DURATION + 8))" --warmup 2 --url "$GW_URL" --token-file "$TOKEN_FILE" --pid $GW_PID > "$OUT/allocations.md" & load_pid=$!
    sleep 5
    # The trace starts and stops within about a second of asking: the requests counted are the rate times the
    # duration asked for, so the figure per request is good to a few percent.
    dotnet-trace collect -p $GW_PID --profile gc-verbose --duration "$(printf '00:00:00:%02d' "$DURATION")" -o "$OUT/allocations.nettrace" > "$OUT/trace.log" 2>&1
    wait $load_pid
    header; cat "$OUT/allocations.md"; echo
    dotnet "$BENCH" allocations "$OUT/allocations.nettrace" --requests "$((rate * DURATION))" --top "${BENCH_TOP:-25}"
    exit 0 ;;
  tail)
    # How much of the tail the gateway's garbage collections explain: an open loop at BENCH_PROFILE_RATE (default
    # 1,000) requests a second on the real path, each request's start and latency kept (--timeline), and the runtime's
    # GC events (suspensions, collections, restarts; not the verbose allocation samples) traced for DURATION seconds
    # in the middle of it; App.Bench tail lines them up.
    export PATH="$PATH:$HOME/.dotnet/tools"
    command -v dotnet-trace > /dev/null || dotnet tool install -g dotnet-trace --version 10.0.750501 > /dev/null
    rate="${BENCH_PROFILE_RATE:-1000}"
    # BENCH_PROFILE_PATH=hit: cache hits instead.
    tail_args=(--label "gateway, cache off (collections traced)")
    [ "${BENCH_PROFILE_PATH:-}" = "hit" ] && tail_args=(--label "gateway, cache hit (collections traced)" --deterministic)
    taskset -c 0 dotnet "$BENCH" load "${tail_args[@]}" --mode open --rate "$rate" --timeline "$OUT/timeline.csv" \
      --duration "$((DURATION + 8))" --warmup 2 --url "$GW_URL" --token-file "$TOKEN_FILE" --pid $GW_PID > "$OUT/tail.md" & load_pid=$!
    sleep 5
    dotnet-trace collect -p $GW_PID --providers "${BENCH_TAIL_PROVIDERS:-Microsoft-Windows-DotNETRuntime:0x1:4}" --duration "$(printf '00:00:00:%02d' "$DURATION")" -o "$OUT/gc.nettrace" > "$OUT/trace.log" 2>&1
    wait $load_pid
    header; cat "$OUT/tail.md"; echo
    dotnet "$BENCH" tail "$OUT/timeline.csv" "$OUT/gc.nettrace" --top "${BENCH_TOP:-30}"
    exit 0 ;;
  cold)
    restart_gateway
    echo "ready $READY_MS ms after the process started${BENCH_COLD_ENV:+ (with $BENCH_COLD_ENV)}${BENCH_COLD_API:+ ($BENCH_COLD_API)}"
    seconds=${BENCH_COLD_SECONDS:-150}
    if [ "${BENCH_COLD_CLIENT:-}" = wrk ]; then
      # The same load from a client written elsewhere: wrk, one run per 5 s, back to back from ready.
      command -v wrk > /dev/null || { echo "wrk is needed (apt-get install wrk)" >&2; exit 1; }
      wrk_script "$OUT/post.lua" 0.7 "Authorization: Bearer $(cat "$TOKEN_FILE")"
      for (( t = 0; t < seconds; t += 5 )); do
        taskset -c 0 wrk -t1 -c"${BENCH_COLD_CONNECTIONS:-16}" -d5s --latency -s "$OUT/post.lua" "$GW_URL" > "$OUT/wrk.txt"
        wrk_summary "$OUT/wrk.txt" | awk -v t="$t" '{ printf "wrk %d-%d s: %d req/s, p50 %.2f ms, p99 %.2f ms%s\n", t, t + 5, $1, $2, $3, ($4 ? ", non-2xx " $4 : "") }'
      done
      exit 0
    fi
    header
    taskset -c 0 dotnet "$BENCH" load --label "gateway, cache off, from ready" --mode closed --connections "${BENCH_COLD_CONNECTIONS:-16}" --duration "$seconds" --warmup 0 \
      --url "$GW_URL" --token-file "$TOKEN_FILE" --pid $GW_PID --timeline "$OUT/cold.csv"
    # The timeline: "start (unix us), latency (us, -1 if failed), start (monotonic us)", one line per request.
    awk -F, 'NR == 1 || $3 < t0 { t0 = $3 } { t[NR] = $3; l[NR] = $2 } END { for (i = 1; i <= NR; i++) if (l[i] >= 0) print int((t[i] - t0) / 5e6) }' "$OUT/cold.csv" \
      | sort -n | uniq -c | awk '{ printf "%s%d-%d s: %d req/s", (NR > 1 ? ", " : "throughput per 5 s from ready: "), $2 * 5, $2 * 5 + 5, $1 / 5 } END { print "" }'
    for window in "0 10" "10 30" "30 60" "$(( seconds - 30 )) $seconds"; do
      from=${window% *}; to=${window#* }
      awk -F, -v from="$from" -v to="$to" 'NR == FNR { if (FNR == 1 || $3 < t0) t0 = $3; next } $2 >= 0 && ($3 - t0) >= from * 1e6 && ($3 - t0) < to * 1e6 { print $2 / 1000 }' "$OUT/cold.csv" "$OUT/cold.csv" \
        | sort -n | awk -v from="$from" -v to="$to" '{ v[NR] = $1 } END { if (NR == 0) { print from "-" to " s: no requests"; exit } printf "%d-%d s: %d req/s, p50 %.2f ms, p99 %.2f ms\n", from, to, NR / (to - from), v[int(NR * 0.5) + 1], v[int(NR * 0.99) + 1] }'
    done
    exit 0 ;;
  saturation)
    # The sum of a counter's series (all label sets, or those whose line holds the filter) on the gateway's /metrics.
    counter() { curl -sf "http://127.0.0.1:$MGMT_PORT/metrics" | awk -v name="$1" -v filter="${2:-}" 'index($1, name) == 1 && substr($1, length(name) + 1, 1) ~ /^(\{|)$/ && index($0, filter) { s += $2 } END { printf "%d", s }'; }
    drained() {
      for _ in $(seq 1 240); do [ "$(counter app_traces_queued)" -eq 0 ] && return 0; sleep 0.5; done
      echo "the trace queue did not drain within 120 s" >&2; return 1
    }
    chat='http_route="/v1/chat/completions"'
    header
    # The real path, then cache hits (the most traces per second of CPU), each with the core full throughout; with
    # BENCH_WARMUP=0 the first starts cold, as a new instance meets a spike.
    for path in miss hit; do
      drained
      answered0=$(counter http_server_request_duration_seconds_count "$chat"); written0=$(counter app_traces_written_total)
      dropped0=$(counter app_traces_dropped_total); shed0=$(counter app_gateway_rejections_total 'trace_backlog')
      taskset -c 0 dotnet "$BENCH" load --label "gateway, cache $([ $path = hit ] && echo hit || echo off) (saturation)" --mode closed --connections 64 \
        --duration "${BENCH_SATURATION_SECONDS:-600}" --warmup 0 $([ $path = hit ] && echo --deterministic) --url "$GW_URL" --token-file "$TOKEN_FILE" --pid $GW_PID
      drained
      echo "$path: chat requests answered $(( $(counter http_server_request_duration_seconds_count "$chat") - answered0 )), traces written $(( $(counter app_traces_written_total) - written0 )), dropped $(( $(counter app_traces_dropped_total) - dropped0 )), refused at admission $(( $(counter app_gateway_rejections_total 'trace_backlog') - shed0 ))" >> "$OUT/saturation.txt"
    done
    echo; cat "$OUT/saturation.txt"
    echo "log lines about dropped traces: $(grep -c 'Dropped' "$OUT/gateway.log" || true)"
    exit 0 ;;
  soak)
    header
    taskset -c 0 dotnet "$BENCH" load --label "gateway, cache off (soak)" --mode open --rate "${BENCH_SOAK_RATE:-250}" --duration "${BENCH_SOAK_SECONDS:-1800}" \
      --warmup 5 --url "$GW_URL" --token-file "$TOKEN_FILE" --pid $GW_PID ${BENCH_TIMELINE:+--timeline "$BENCH_TIMELINE"}
    exit 0 ;;
esac
# The standard set; with --write-docs its table, the machine and the versions replace the section of
# docs/benchmarks.md between the bench:begin and bench:end markers.
standard() {
  header
  if [ "$ONLY" = "stream" ]; then
    streams
    return 0
  fi
  [ "$ONLY" = "all" ] || [ "$ONLY" = "open" ] && for rate in 250 1000; do
    load --label "direct" --mode open --rate $rate --url "http://127.0.0.1:$UP_PORT/v1/chat/completions"
    relays_open $rate
    load --label "gateway, cache off" --mode open --rate $rate --url "http://127.0.0.1:$GW_PORT/v1/chat/completions" --token-file "$TOKEN_FILE" --pid $GW_PID
  done
  [ "$ONLY" = "open" ] && return 0
  [ "$ONLY" = "hits" ] || for c in 16 64; do
    [ "$ONLY" = "quick" ] && [ $c -ne 64 ] && continue
    [ "$ONLY" = "quick" ] || load --label "direct" --mode closed --connections $c --url "http://127.0.0.1:$UP_PORT/v1/chat/completions"
    load --label "gateway, cache off" --mode closed --connections $c --url "http://127.0.0.1:$GW_PORT/v1/chat/completions" --token-file "$TOKEN_FILE" --pid $GW_PID
    load --label "gateway, cache hit" --mode closed --connections $c --deterministic --url "http://127.0.0.1:$GW_PORT/v1/chat/completions" --token-file "$TOKEN_FILE" --pid $GW_PID
  done
  # Cache hits at fixed rates up to the target's 10,000 a second, latency from each request's intended send time.
  [ "$ONLY" = "all" ] || [ "$ONLY" = "hits" ] && for rate in 5000 10000; do
    load --label "direct" --mode open --rate $rate --url "http://127.0.0.1:$UP_PORT/v1/chat/completions"
    load --label "gateway, cache hit" --mode open --rate $rate --deterministic --url "$GW_URL" --token-file "$TOKEN_FILE" --pid $GW_PID
  done
  [ "$ONLY" = "all" ] || [ "$ONLY" = "closed" ] || return 0
  # A slow upstream (50 ms): what the gateway adds when most of a request is waiting, with 64 in flight.
  load --label "direct, upstream 50 ms" --mode closed --connections 64 --url "http://127.0.0.1:$SLOW_PORT/v1/chat/completions"
  load --label "gateway, upstream 50 ms" --mode closed --connections 64 --model benchslow --url "$GW_URL" --token-file "$TOKEN_FILE" --pid $GW_PID
  [ "$ONLY" = "all" ] || return 0
  streams
}

# Streaming: one stream at a time (what the gateway adds to time to first token, unloaded), 16 in flight with their
# starts spread over a stream's length (80 ms apart: a new stream every 80 ms, each meeting 15 others mid-stream),
# and 16 that start together. Streams of one length that start together also end together, so in that last set
# every stream starts in a burst of 16 at once, and its time to first token is that burst's queue on one core. A
# stream lasts 1.3 s, so one at a time runs three times as long, for ~3 streams per scenario second, not 0.8.
streams() {
  for set in "1 0" "16 80" "16 0"; do
    local c=${set% *} stagger=${set#* } seconds=$DURATION
    [ "$c" -eq 1 ] && seconds=$(( DURATION * 3 ))
    DURATION=$seconds load --label "direct, stream 64x20ms" --mode closed --connections "$c" --stagger-ms "$stagger" --stream --url "http://127.0.0.1:$STREAM_PORT/v1/chat/completions"
    DURATION=$seconds load --label "relay on core 1, stream 64x20ms" --mode closed --connections "$c" --stagger-ms "$stagger" --stream --url "http://127.0.0.1:$STREAM_RELAY_PORT/v1/chat/completions" --pid $STREAM_RELAY_PID
    [ -z "$HAPROXY_PID" ] || DURATION=$seconds load --label "haproxy http on core 1, stream 64x20ms" --mode closed --connections "$c" --stagger-ms "$stagger" --stream --url "http://127.0.0.1:$HAPROXY_STREAM_PORT/v1/chat/completions" --pid $HAPROXY_PID
    DURATION=$seconds load --label "gateway, stream 64x20ms" --mode closed --connections "$c" --stagger-ms "$stagger" --stream --model benchstream --url "http://127.0.0.1:$GW_PORT/v1/chat/completions" --token-file "$TOKEN_FILE" --pid $GW_PID
  done
}

write_docs() {
  local doc="$ROOT/docs/benchmarks.md" section="$OUT/section.md"
  local pg_bin; pg_bin="$(ls -d /usr/lib/postgresql/*/bin 2> /dev/null | sort -V | tail -n1)"
  {
    echo "<!-- bench:begin: written by 'bash bench/run.sh $DURATION --write-docs'; edits inside are overwritten -->"
    echo "## Latest standard run"
    echo
    echo "- when: $(date -u '+%Y-%m-%d %H:%M UTC'), commit $(git rev-parse --short HEAD)$(git diff --quiet -- . ':!docs/benchmarks.md' || echo ' plus uncommitted changes')"
    echo "- machine: $(nproc) cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)), $(free -g | awk '/Mem:/ { print $2 }') GiB, $(. /etc/os-release && echo "$PRETTY_NAME"), kernel $(uname -r)"
    echo "- versions: .NET SDK $(dotnet --version), runtime $(dotnet --list-runtimes | awk '/NETCore.App/ { v = $2 } END { print v }'), $("$pg_bin/postgres" --version), Redis $(redis-server --version | sed -n 's/.*v=\([^ ]*\).*/\1/p')"
    echo "- split: the gateway pinned to core 1 (taskset -c 1); load generator and fake upstreams on core 0; PostgreSQL and Redis unpinned, fresh for the run; \"relay on core 1\" is a plain TCP relay (\`App.Bench delay-proxy --delay-ms 0\`) pinned to the gateway's core in front of the same upstream, the floor for any process in the path$([ -z "$HAPROXY_PID" ] || echo "; \"haproxy tcp\" and \"haproxy http on core 1\" are the same floor from HAProxy $(haproxy -v | awk 'NR == 1 { print $3 }') (one thread, pinned there too), as a TCP relay and as an HTTP reverse proxy")"
    echo "- the gateway's resident memory when idle after start, before any load: $IDLE_RSS_MB MB"
    echo "- command: \`bash bench/run.sh $DURATION --write-docs\` (the gateway warmed up with ${BENCH_WARMUP:-180} s of load; then $DURATION s per scenario after 2 s of warm-up, $(( DURATION * 3 )) s for one stream at a time)"
    echo
    cat "$OUT/table.md"
    echo "<!-- bench:end -->"
  } > "$section"
  if grep -q '<!-- bench:begin' "$doc"; then
    awk -v f="$section" '/<!-- bench:begin/ { while ((getline l < f) > 0) print l; skip = 1; next } /<!-- bench:end -->/ { skip = 0; next } !skip' "$doc" > "$doc.new"
  else
    { cat "$doc"; echo; cat "$section"; } > "$doc.new"
  fi
  mv "$doc.new" "$doc"
  echo "docs/benchmarks.md rewritten" >&2
}

standard | tee "$OUT/table.md"
if [ "$WRITE_DOCS" = "--write-docs" ]; then
  write_docs
fi
