#!/usr/bin/env bash
# The dependency gate: every NuGet package of the solution, direct and transitive, checked against the advisories
# of the package sources (`dotnet list package --vulnerable --include-transitive`); fails on a high or critical one.
# Restore itself fails on them too (NuGetAudit, Directory.Build.props); this gate also names the advisories.
#
#   deploy/ci/deps.sh [--require-data] [PROJECT_OR_SOLUTION]     (default App.sln)
#
# A source that offers no vulnerability data (an offline mirror) can vouch for nothing: the gate says so, and with
# --require-data (the GitHub workflow, against nuget.org) fails. DEPS_AUDIT_SOURCE names a NuGet V3 service index
# that offers vulnerability data (`VulnerabilityInfo`) to check against instead, as an organisation's own feed would.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."

require_data=""
target="App.sln"
for arg in "$@"; do
  case "$arg" in
    --require-data) require_data=1 ;;
    -*) echo "unknown option: $arg" >&2; exit 2 ;;
    *) target="$arg" ;;
  esac
done

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
config_args=()
if [ -n "${DEPS_AUDIT_SOURCE:-}" ]; then
  # A config file given on the command line replaces the user's: their package sources are copied into it, and only
  # where the advisories come from changes.
  {
    echo '<?xml version="1.0" encoding="utf-8"?>'
    echo '<configuration>'
    echo '  <packageSources>'
    dotnet nuget list source --format short | awk '$1 == "E" { n++; printf "    <add key=\"source%d\" value=\"%s\" />\n", n, $2 }'
    echo '  </packageSources>'
    echo '  <auditSources>'
    echo '    <clear />'
    echo "    <add key=\"audit\" value=\"$DEPS_AUDIT_SOURCE\" allowInsecureConnections=\"true\" />"
    echo '  </auditSources>'
    echo '</configuration>'
  } > "$work/nuget.config"
  config_args=(--configfile "$work/nuget.config")
fi

if ! dotnet restore "$target" --nologo -v quiet "${config_args[@]}" > "$work/restore.log" 2>&1; then
  cat "$work/restore.log"
  echo "deps: restore failed (a high or critical advisory fails it: NU1903, NU1904)"
  exit 1
fi
grep -o 'warning NU19[0-9][0-9]: .*' "$work/restore.log" | sort -u || true
if ! dotnet list "$target" package --vulnerable --include-transitive --format json \
  ${config_args[@]:+--config "$work/nuget.config"} > "$work/report.json" 2> "$work/list.log"; then
  cat "$work/report.json" "$work/list.log"
  echo "deps: the vulnerability data could not be read (above)"
  echo '{"projects":[],"sources":[]}' > "$work/report.json"
fi

# Which of the sources consulted offer vulnerability data at all.
sources="${DEPS_AUDIT_SOURCE:-$(node -e 'console.log(JSON.parse(require("fs").readFileSync(0, "utf8")).sources.join("\n"))' < "$work/report.json")}"
with_data=0
while read -r source; do
  [ -z "$source" ] && continue
  if node -e 'fetch(process.argv[1], { signal: AbortSignal.timeout(20000) }).then(r => r.text())
      .then(t => process.exit(t.includes("\"VulnerabilityInfo/") ? 0 : 1), () => process.exit(1))' "$source"; then
    echo "deps: $source offers vulnerability data"
    with_data=$((with_data + 1))
  else
    echo "deps: $source offers NO vulnerability data: nothing from it can be vouched for"
  fi
done <<< "$sources"

status=0
node deploy/ci/vulnerable.mjs < "$work/report.json" || status=1
if [ "$with_data" -eq 0 ]; then
  echo "deps: no source offered vulnerability data; the packages were not checked against any advisory"
  [ -n "$require_data" ] && status=1
fi
exit $status
