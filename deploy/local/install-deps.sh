#!/usr/bin/env bash
# Installs the local servers the service and its tests use: PostgreSQL (15 or newer) and Redis, from Debian's
# packages; with --with-browser also Chromium for the browser tests (skipped when CHROMIUM_PATH names one), and with
# --with-haproxy HAProxy, the native proxy the benchmarks measure beside the gateway (bench/run.sh), and with
# --with-prometheus Prometheus and promtool (the observability tests: rules, and a real scrape of the service), and
# with --with-kubectl kubectl (its `kubectl kustomize` renders the overlays) and the schema validators of
# deploy/k8s/validate.mjs (npm ci into deploy/k8s/node_modules, from its package-lock.json; the deployment tests).
# Does nothing for what is already there. Needs root (or sudo) only when something is missing.
set -euo pipefail

have_postgres() { compgen -G "/usr/lib/postgresql/*/bin/initdb" > /dev/null; }
have_redis() { command -v redis-server > /dev/null 2>&1; }

have_browser() { [ -x "${CHROMIUM_PATH:-/usr/bin/chromium}" ]; }
have_haproxy() { command -v haproxy > /dev/null 2>&1; }
have_prometheus() { command -v prometheus > /dev/null 2>&1 && command -v promtool > /dev/null 2>&1; }
# kubectl's own kustomize (v5): Debian's older kubernetes-client has one too old for the overlays' syntax.
have_kubectl() { kubectl kustomize --help > /dev/null 2>&1; }
have_node() { command -v node > /dev/null 2>&1 && command -v npm > /dev/null 2>&1; }
K8S_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")/../k8s" && pwd)"
# Installed, and from the lock file as it is now.
have_validators() { cmp -s "$K8S_DIR/package-lock.json" "$K8S_DIR/node_modules/.package-lock.json.installed"; }
install_validators() {
  (cd "$K8S_DIR" && CI=true npm ci --no-audit --no-fund --loglevel=error < /dev/null > /dev/null) &&
    cp "$K8S_DIR/package-lock.json" "$K8S_DIR/node_modules/.package-lock.json.installed"
}

browser=""; haproxy=""; prometheus=""; kubectl=""
for arg in "$@"; do
  case "$arg" in
    --with-browser) browser=1 ;;
    --with-haproxy) haproxy=1 ;;
    --with-prometheus) prometheus=1 ;;
    --with-kubectl) kubectl=1 ;;
    *) echo "unknown option: $arg (expected --with-browser, --with-haproxy, --with-prometheus or --with-kubectl)" >&2; exit 2 ;;
  esac
done

missing=()
have_postgres || missing+=(postgresql)
have_redis || missing+=(redis-server)
[ -n "$browser" ] && ! have_browser && missing+=(chromium)
[ -n "$haproxy" ] && ! have_haproxy && missing+=(haproxy)
[ -n "$prometheus" ] && ! have_prometheus && missing+=(prometheus)
[ -n "$kubectl" ] && ! have_kubectl && missing+=(kubectl)
[ -n "$kubectl" ] && ! have_node && missing+=(nodejs npm)
if [ ${#missing[@]} -eq 0 ]; then
  if [ -n "$kubectl" ] && ! have_validators; then
    install_validators
  fi
  exit 0
fi

echo "Installing ${missing[*]} from Debian packages..." >&2
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo > /dev/null || { echo "Need root or sudo to install ${missing[*]}" >&2; exit 1; }
  SUDO="sudo"
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" > /dev/null
# The packages start system-wide services on the default ports; this project runs its own on other ports.
if command -v systemctl > /dev/null 2>&1 && [ -d /run/systemd/system ]; then
  $SUDO systemctl disable --now redis-server postgresql haproxy prometheus > /dev/null 2>&1 || true
fi
if [ -n "$kubectl" ] && have_node && ! have_validators; then
  install_validators
fi
have_postgres && have_redis && { [ -z "$browser" ] || have_browser; } && { [ -z "$haproxy" ] || have_haproxy; } &&
  { [ -z "$prometheus" ] || have_prometheus; } && { [ -z "$kubectl" ] || { have_kubectl && have_validators; }; }
