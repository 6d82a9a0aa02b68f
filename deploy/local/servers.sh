#!/usr/bin/env bash
# Starts or stops the development PostgreSQL and Redis on loopback, with their data under .local/ in the repo.
#   deploy/local/servers.sh start | stop | status
# Ports: PostgreSQL 55432 (database app; roles app_owner and app_runtime with the passwords of
# src/App.Api/appsettings.Development.json, created by
# deploy/postgres/bootstrap.sql), Redis 56379. Override with APP_PG_PORT and
# APP_REDIS_PORT. PostgreSQL refuses to run as root, so as root it runs as the 'postgres' user.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
DATA="${APP_DATA_DIR:-$ROOT/.local}"
PG_PORT="${APP_PG_PORT:-55432}"
REDIS_PORT="${APP_REDIS_PORT:-56379}"
PG_BIN="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n1)"
PG_DATA="$DATA/pg/data"
REDIS_DIR="$DATA/redis"

# True when nothing listens on the loopback port.
port_free() { ! (exec 3<> "/dev/tcp/127.0.0.1/$1") 2> /dev/null; }

# Refuses to start a server on a port something else holds, saying what to change.
require_free() {
  if ! port_free "$1"; then
    echo "127.0.0.1:$1 is already taken by another process; stop it or set $2 to a free port." >&2
    exit 1
  fi
}

as_pg() {
  if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

start_postgres() {
  if [ -f "$PG_DATA/postmaster.pid" ] && as_pg "$PG_BIN/pg_ctl" -D "$PG_DATA" status > /dev/null 2>&1; then
    return 0
  fi
  require_free "$PG_PORT" APP_PG_PORT
  mkdir -p "$DATA/pg"
  if [ ! -f "$PG_DATA/PG_VERSION" ]; then
    printf 'postgres' > "$DATA/pg/pwfile"
    [ "$(id -u)" -eq 0 ] && chown -R postgres "$DATA/pg"
    as_pg "$PG_BIN/initdb" -D "$PG_DATA" -U postgres --pwfile "$DATA/pg/pwfile" \
      --auth-local=scram-sha-256 --auth-host=scram-sha-256 -E UTF8 --locale=C > "$DATA/pg/initdb.log"
    rm -f "$DATA/pg/pwfile"
  fi
  [ "$(id -u)" -eq 0 ] && chown -R postgres "$DATA/pg"
  as_pg "$PG_BIN/pg_ctl" -D "$PG_DATA" -l "$DATA/pg/server.log" -w -t 60 \
    -o "-p $PG_PORT -c listen_addresses=127.0.0.1 -c unix_socket_directories=$DATA/pg" start > /dev/null
  # The same bootstrap as production: an owner role for migrations, a runtime role for the service.
  PGPASSWORD=postgres "$PG_BIN/psql" -h 127.0.0.1 -p "$PG_PORT" -U postgres -d postgres -v ON_ERROR_STOP=1 -q \
    -v owner_password=owner -v runtime_password=runtime -v database=app \
    -f "$ROOT/deploy/postgres/bootstrap.sql" > /dev/null
  echo "PostgreSQL on 127.0.0.1:$PG_PORT (database app)"
}

start_redis() {
  if [ -f "$REDIS_DIR/redis.pid" ] && kill -0 "$(cat "$REDIS_DIR/redis.pid")" 2> /dev/null; then
    return 0
  fi
  require_free "$REDIS_PORT" APP_REDIS_PORT
  mkdir -p "$REDIS_DIR"
  # An append-only file, written every second: queued job messages survive a restart of Redis (docs/operations.md).
  redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --dir "$REDIS_DIR" --save "" --appendonly yes --appendfsync everysec \
    --daemonize yes --pidfile "$REDIS_DIR/redis.pid" --logfile "$REDIS_DIR/redis.log"
  for _ in $(seq 1 50); do
    redis-cli -p "$REDIS_PORT" ping > /dev/null 2>&1 && break
    sleep 0.1
  done
  echo "Redis on 127.0.0.1:$REDIS_PORT"
}

stop_all() {
  if [ -f "$PG_DATA/postmaster.pid" ]; then
    as_pg "$PG_BIN/pg_ctl" -D "$PG_DATA" -m fast -w stop > /dev/null || true
  fi
  if [ -f "$REDIS_DIR/redis.pid" ]; then
    # Waited for: Redis writes its append-only file as it stops, and a caller may remove the directory next.
    local pid
    pid="$(cat "$REDIS_DIR/redis.pid")"
    kill "$pid" 2> /dev/null || true
    timeout 15 tail --pid="$pid" -f /dev/null 2> /dev/null || kill -9 "$pid" 2> /dev/null || true
    rm -f "$REDIS_DIR/redis.pid"
  fi
}

case "${1:-start}" in
  start)
    "$ROOT/deploy/local/install-deps.sh"
    PG_BIN="$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n1)"
    start_postgres
    start_redis
    ;;
  stop) stop_all ;;
  status)
    as_pg "$PG_BIN/pg_ctl" -D "$PG_DATA" status || true
    redis-cli -p "$REDIS_PORT" ping || true
    ;;
  *) echo "usage: $0 start|stop|status" >&2; exit 2 ;;
esac
