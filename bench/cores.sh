#!/usr/bin/env bash
# Who uses which core, while a bench run is under way: each core's busy share and each process's CPU (as a share of
# one core, with the core it last ran on) over N seconds, from /proc. Linux only.
#   bash bench/cores.sh [seconds]      # default 10
# Example, during the cache-hit scenario of a run: BENCH_ONLY=quick bash bench/run.sh 30 & sleep 215; bash bench/cores.sh 10
set -euo pipefail
seconds="${1:-10}"
ticks=$(getconf CLK_TCK)

cores() { awk '/^cpu[0-9]+ / { print $1, $2 + $3 + $4 + $7 + $8, $5 + $6 }' /proc/stat; }
cputime() { awk '{ print $14 + $15 }' "/proc/$1/stat" 2> /dev/null; }

declare -A before
for pid in /proc/[0-9]*; do
  pid=${pid#/proc/}
  t=$(cputime "$pid") && [ -n "$t" ] && before[$pid]=$t
done
first=$(cores)
sleep "$seconds"
second=$(cores)

paste -d ' ' <(echo "$first") <(echo "$second") | awk '{ busy = $5 - $2; idle = $6 - $3; printf "%s busy %.0f %%\n", $1, 100 * busy / (busy + idle) }'
for pid in "${!before[@]}"; do
  now=$(cputime "$pid") || continue
  [ -z "$now" ] && continue
  used=$(( now - before[$pid] ))
  # at least 1 % of a core
  [ $(( used * 100 )) -ge $(( seconds * ticks )) ] || continue
  share=$(( used * 100 / (seconds * ticks) ))
  core=$(awk '{ print $39 }' "/proc/$pid/stat" 2> /dev/null || echo '?')
  printf '%3d %% of a core, last on cpu%s: %s\n' "$share" "$core" "$(tr '\0' ' ' < "/proc/$pid/cmdline" | cut -c1-100)"
done | sort -rn
