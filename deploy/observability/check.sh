#!/usr/bin/env bash
# Checks deploy/observability: the Prometheus config and rules (promtool check), every rule's unit tests (promtool
# test rules), the Grafana dashboards (up to date with dashboards.mjs, valid against the metric contract in
# docs/operations.md) and every alert's runbook section there. Installs promtool from Debian's prometheus package when
# it is missing.
#   deploy/observability/check.sh              run the checks
#   deploy/observability/check.sh --self-test  run them, then plant defects in copies and show each one is caught
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
PROM="$HERE/prometheus"

self_test=""
for arg in "$@"; do
  case "$arg" in
    --self-test) self_test=1 ;;
    *) echo "unknown option: $arg (expected --self-test)" >&2; exit 2 ;;
  esac
done

install_promtool() {
  command -v promtool > /dev/null 2>&1 && return 0
  echo "Installing prometheus (for promtool) from Debian packages..." >&2
  SUDO=""
  if [ "$(id -u)" -ne 0 ]; then
    command -v sudo > /dev/null || { echo "Need root or sudo to install prometheus (promtool)" >&2; exit 1; }
    SUDO="sudo"
  fi
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends prometheus > /dev/null
  # The package starts a system-wide Prometheus; nothing here needs it running.
  if command -v systemctl > /dev/null 2>&1 && [ -d /run/systemd/system ]; then
    $SUDO systemctl disable --now prometheus > /dev/null 2>&1 || true
  fi
  command -v promtool > /dev/null
}

install_promtool
command -v node > /dev/null || { echo "node (20 or newer) is needed for the dashboard checks" >&2; exit 1; }

# Runs the checks on copies: $1 the prometheus/ directory, $2 the grafana/ directory, $3 docs/operations.md, then the
# names of the test files to run (the ones that cover what was changed: all of them take minutes on a busy machine).
run_checks() {
  local rules="$1" grafana="$2" contract="$3"
  shift 3
  local t tests=()
  for t in "$@"; do tests+=("$rules/tests/$t"); done
  promtool check config "$rules/prometheus.yml" > /dev/null &&
    promtool check rules "$rules/recording-rules.yml" "$rules/alerts.yml" > /dev/null &&
    { [ ${#tests[@]} -eq 0 ] || promtool test rules "${tests[@]}" > /dev/null; } &&
    node "$HERE/validate.mjs" --rules "$rules" --grafana "$grafana" --contract "$contract" > /dev/null
}

tests=("$PROM"/tests/*.yml)
promtool check config "$PROM/prometheus.yml" > /dev/null
promtool check rules "$PROM/recording-rules.yml" "$PROM/alerts.yml"
promtool test rules "${tests[@]}"
groups=$(cat "${tests[@]}" | grep -c '^  - interval:')
checks=$(cat "${tests[@]}" | grep -cE '^      - (eval_time|expr):')
alerts=$(grep -c '^      - alert:' "$PROM/alerts.yml")
tested=0
for a in $(grep '^      - alert:' "$PROM/alerts.yml" | awk '{print $3}'); do
  if grep -q "alertname: $a\$" "${tests[@]}" && grep -A2 "alertname: $a\$" "${tests[@]}" | grep -q 'exp_alerts:'; then
    tested=$((tested + 1))
  else
    echo "alert $a has no promtool test that expects it to fire" >&2
  fi
done
echo "promtool: ${#tests[@]} test files, $groups test groups, $checks checks passed; $tested of $alerts alerts tested firing"
[ "$tested" -eq "$alerts" ]
node "$HERE/dashboards.mjs" --check
node "$HERE/validate.mjs"

if [ -z "$self_test" ]; then
  echo "check: passed"
  exit 0
fi

# Self-test: each planted defect goes into a fresh copy, and the checks must fail on it.
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
planted=0
caught=0

# Copies the real files to $work/<n>, applies sed expression $3 to file $2 of the copy (which must change it), and
# expects run_checks to fail with the test files named after it.
plant() {
  local name="$1" file="$2" edit="$3" copy="$work/$planted"
  shift 3
  copy_to "$copy"
  cp "$copy/$file" "$copy/original"
  sed -i -E "$edit" "$copy/$file"
  if cmp -s "$copy/original" "$copy/$file"; then
    echo "self-test: planting \"$name\" changed nothing in $file" >&2
    exit 1
  fi
  planted=$((planted + 1))
  if run_checks "$copy/prometheus" "$copy/grafana" "$copy/operations.md" "$@" 2> /dev/null; then
    echo "self-test: NOT caught: $name" >&2
  else
    caught=$((caught + 1))
    echo "self-test: caught: $name"
  fi
}

# Copies the rules, the dashboards and the contract to $1.
copy_to() {
  mkdir -p "$1"
  cp -r "$PROM" "$1/prometheus"
  cp -r "$HERE/grafana" "$1/grafana"
  cp "$ROOT/docs/operations.md" "$1/operations.md"
}

# The control: unchanged copies pass, so a defect below is caught for what was planted, not for the copying.
control="$work/control"
copy_to "$control"
if ! run_checks "$control/prometheus" "$control/grafana" "$control/operations.md" slo-availability.yml slo-latency.yml operations.yml sli.yml maintenance.yml; then
  echo "self-test: the unchanged copies fail the checks" >&2
  exit 1
fi
echo "self-test: unchanged copies pass"

plant "page threshold 14.4x raised to 24x (0.072 -> 0.12)" prometheus/alerts.yml \
  's/slo:api_errors:ratio_rate(1h|5m) > 0\.072/slo:api_errors:ratio_rate\1 > 0.12/' slo-availability.yml
plant "minimum request rate of the burn-rate alerts dropped" prometheus/alerts.yml \
  's/slo:api_requests:rate(5m|30m) >= 0\.1/slo:api_requests:rate\1 >= 0/' slo-availability.yml
plant "CircuitOpen for: 5m shortened to 3m" prometheus/alerts.yml \
  '/alert: CircuitOpen/,/for:/ s/for: 5m/for: 3m/' operations.yml
plant "trace retention allowed 80 hours since its last success instead of 50" prometheus/alerts.yml \
  's/> 50 \* 3600/> 80 * 3600/' maintenance.yml
plant "trace retention judged by the CronJob's age though a run succeeded" prometheus/alerts.yml \
  '/unless on \(namespace, cronjob\)/,+1d' maintenance.yml
plant "core latency budget bucket 0.3 s -> 0.5 s" prometheus/recording-rules.yml \
  's/le="0\.3"/le="0.5"/' sli.yml slo-latency.yml
plant "syntax error in a rule" prometheus/alerts.yml \
  's/expr: tenant:app_budget_cost:projected_month_ratio > 1/expr: tenant:app_budget_cost:projected_month_ratio > > 1/'
plant "a panel rate() over [5m] instead of \$__rate_interval" grafana/jobs.json \
  '0,/\[\$__rate_interval\]/ s/\[\$__rate_interval\]/[5m]/'
plant "a panel queries a series outside the contract" grafana/jobs.json \
  's/max\(app_jobs_queued\)/max(app_jobs_waiting)/'
plant "a panel without a unit" grafana/slo.json \
  '0,/"unit": "percentunit"/ s/"unit": "percentunit"/"unit": ""/'
plant "two panels with the same id" grafana/llm.json \
  's/"id": 2,/"id": 1,/'
plant "an alert's runbook section removed" operations.md \
  '/^### CircuitOpen$/d'
plant "a series the rules use removed from the contract" operations.md \
  '/^\| `app_traces_dropped_total` \|/d'
plant "a label outside the contract" grafana/traffic-control.json \
  's/sum by \(app_traffic_limit\)/sum by (app_traffic_reason)/'

echo "self-test: $caught of $planted planted defects caught"
[ "$caught" -eq "$planted" ]
echo "check: passed"
