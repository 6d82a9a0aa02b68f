# Sourced by bench/run.sh for BENCH_PROFILE=peer: this gateway against another OpenAI-compatible gateway (Portkey's open
# source gateway, BENCH_PEER_VERSION, default 1.15.2, installed from npm into artifacts/peer) in one run, on the same
# split (both gateways on core 1, the one not measured idle, wrk and the fake upstream on core 0), the same upstream and
# 16 connections. Each is measured new (the first BENCH_PEER_SECONDS, default 10, after it reports ready, once from wrk
# and once more, started again, from the bench's generator) and warm (after BENCH_PEER_WARM, default 120, seconds of
# load each): wrk and the generator on the uncached path, cache hits against the direct call three times in turn,
# time to the first streamed token from the generator (one stream at a time: the gateway's own time, not a queue on a
# full core), and each process's peak resident memory.
# The new instance of this gateway runs as the image does (DOTNET_TC_CallCountingDelayMs=0; BENCH_COLD_ENV replaces it).
: "${BENCH_COLD_ENV=DOTNET_TC_CallCountingDelayMs=0}"
PEER_VERSION="${BENCH_PEER_VERSION:-1.15.2}"
PEER_SECONDS="${BENCH_PEER_SECONDS:-10}"
PEER_WARM="${BENCH_PEER_WARM:-120}"
PEER_PORT=18104
PEER_DIR="$ROOT/artifacts/peer/$PEER_VERSION"
PEER_JS="$PEER_DIR/node_modules/@portkey-ai/gateway/build/start-server.js"
PEER_URL="http://127.0.0.1:$PEER_PORT/v1/chat/completions"
DIRECT_URL="http://127.0.0.1:$UP_PORT/v1/chat/completions"
if [ ! -f "$PEER_JS" ]; then
  npm install --prefix "$PEER_DIR" --no-audit --no-fund "@portkey-ai/gateway@$PEER_VERSION" > "$OUT/peer-install.log" 2>&1 \
    || { cat "$OUT/peer-install.log" >&2; exit 1; }
fi
# What the peer needs to route a request: the provider kind, the upstream and its key.
peer_headers=("x-portkey-provider: openai" "x-portkey-custom-host: http://127.0.0.1:$UP_PORT/v1" "Authorization: Bearer bench")
peer_header_args=(); for h in "${peer_headers[@]}"; do peer_header_args+=(--header "$h"); done
PEER_PID=
start_peer() {
  [ -z "$PEER_PID" ] || { kill "$PEER_PID"; timeout 15 tail --pid="$PEER_PID" -f /dev/null || kill -9 "$PEER_PID"; }
  local started; started=$(date +%s%N)
  NODE_ENV=production taskset -c 1 node --import "$ROOT/bench/loopback.mjs" "$PEER_JS" --port=$PEER_PORT --headless > "$OUT/peer.log" 2>&1 & PEER_PID=$!; pids+=($PEER_PID)
  until curl -sf "http://127.0.0.1:$PEER_PORT/" > /dev/null; do
    kill -0 "$PEER_PID" 2> /dev/null || { cat "$OUT/peer.log" >&2; exit 1; }
    sleep 0.05
  done
  READY_MS=$(( ($(date +%s%N) - started) / 1000000 ))
}
rss() { awk '/^VmHWM:/ { printf "%.0f", $2 / 1024 }' "/proc/$1/status"; }
# One wrk row: label, url, seconds, then the wrk script's temperature and headers.
wrk_row() {
  local label=$1 url=$2 seconds=$3; shift 3
  wrk_script "$OUT/peer.lua" "$@"
  taskset -c 0 wrk -t1 -c16 -d"${seconds}s" --latency -s "$OUT/peer.lua" "$url" > "$OUT/wrk.txt"
  wrk_summary "$OUT/wrk.txt" | awk -v label="$label" '{ printf "| %s | wrk | %d | %.2f | %.2f | %d |\n", label, $1, $2, $3, $4 }'
}
# One generator row (its own table's columns, reduced to the same ones, with TTFT for streams).
gen_row() {
  local label=$1; shift
  taskset -c 0 dotnet "$BENCH" load --label "$label" --mode closed --connections "${GEN_CONNECTIONS:-16}" --duration "$PEER_SECONDS" "$@" \
    | awk -F'|' -v label="$label" 'NF > 10 { gsub(/ /, "", $5); gsub(/ /, "", $6); gsub(/ /, "", $7); gsub(/ /, "", $9); gsub(/ /, "", $11); gsub(/ /, "", $14); printf "| %s | generator | %s | %s | %s | errors %s %%, TTFT p50 %s, CPU-ms/request %s |\n", label, $5, $7, $9, $6, $11, $14 }'
}
ours_auth() { echo "Authorization: Bearer $(cat "$TOKEN_FILE")"; }

echo "| system | client | req/s | p50 ms | p99 ms | non-2xx (wrk); errors, TTFT, CPU (generator) |"
echo "| --- | --- | --- | --- | --- | --- |"
# New instances, wrk first: the peer, then this gateway (the peer stopped meanwhile).
start_peer; peer_ready=$READY_MS
wrk_row "peer $PEER_VERSION, first ${PEER_SECONDS} s after ready ($peer_ready ms)" "$PEER_URL" "$PEER_SECONDS" 0.7 "${peer_headers[@]}"
restart_gateway; ours_ready=$READY_MS
wrk_row "gateway, first ${PEER_SECONDS} s after ready ($ours_ready ms)" "$GW_URL" "$PEER_SECONDS" 0.7 "$(ours_auth)"
# New instances again, from the generator.
start_peer
gen_row "peer $PEER_VERSION, first ${PEER_SECONDS} s after ready ($READY_MS ms)" --warmup 0 --url "$PEER_URL" "${peer_header_args[@]}"
restart_gateway
gen_row "gateway, first ${PEER_SECONDS} s after ready ($READY_MS ms)" --warmup 0 --url "$GW_URL" --token-file "$TOKEN_FILE"
# Warm: each loaded for PEER_WARM seconds on the uncached path, then measured.
taskset -c 0 dotnet "$BENCH" load --mode closed --connections 16 --duration "$PEER_WARM" --warmup 0 --url "$PEER_URL" "${peer_header_args[@]}" > /dev/null
taskset -c 0 dotnet "$BENCH" load --mode closed --connections 16 --duration "$PEER_WARM" --warmup 0 --url "$GW_URL" --token-file "$TOKEN_FILE" > /dev/null
wrk_row "direct (no gateway), warm" "$DIRECT_URL" "$PEER_SECONDS" 0.7
wrk_row "peer $PEER_VERSION, warm" "$PEER_URL" "$PEER_SECONDS" 0.7 "${peer_headers[@]}"
gen_row "peer $PEER_VERSION, warm" --url "$PEER_URL" --pid "$PEER_PID" "${peer_header_args[@]}"
GEN_CONNECTIONS=1 gen_row "peer $PEER_VERSION, warm, one stream at a time" --stream --url "$PEER_URL" "${peer_header_args[@]}"
peer_rss=$(rss "$PEER_PID")
wrk_row "gateway, warm" "$GW_URL" "$PEER_SECONDS" 0.7 "$(ours_auth)"
gen_row "gateway, warm" --url "$GW_URL" --token-file "$TOKEN_FILE" --pid "$GW_PID"
gen_row "direct (no gateway), warm" --url "$DIRECT_URL"
GEN_CONNECTIONS=1 gen_row "direct (no gateway), one stream at a time" --stream --url "$DIRECT_URL"
GEN_CONNECTIONS=1 gen_row "gateway, warm, one stream at a time" --stream --url "$GW_URL" --token-file "$TOKEN_FILE"
# Cache hits beside the direct call (the same request each time), three times in turn.
for round in 1 2 3; do
  wrk_row "direct (no gateway), same request, round $round" "$DIRECT_URL" "$PEER_SECONDS" 0
  wrk_row "gateway, cache hit, round $round" "$GW_URL" "$PEER_SECONDS" 0 "$(ours_auth)"
done
echo
echo "peak resident memory: peer $peer_rss MB, gateway $(rss "$GW_PID") MB; ready after start: peer $peer_ready ms, gateway $ours_ready ms"
