#!/usr/bin/env bash
# The secret gate: secretlint over every file of the tree (the recommended rules and this project's patterns for
# AWS keys, OpenAI-style keys, JWTs and private key blocks; deploy/ci/.secretlintrc.json), less the fixtures that
# deploy/ci/.secretlintignore allows with a reason (exact paths). Fails naming each file and line where it finds a secret (the
# secret itself masked). The history is scanned on GitHub by gitleaks (.github/workflows/gates.yml).
#
#   deploy/ci/secrets.sh [DIR]     (default: the repository; in a git work tree, the files git tracks or would)
#
# Installs secretlint from deploy/ci/package-lock.json (npm ci) when it is missing or not the locked version.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
DIR="$(cd "${1:-$HERE/../..}" && pwd)"

if ! cmp -s "$HERE/package-lock.json" "$HERE/node_modules/.package-lock.json.installed"; then
  command -v npm > /dev/null || { echo "secrets: npm is needed (deploy/local/install-deps.sh --with-kubectl installs Node.js)" >&2; exit 2; }
  (cd "$HERE" && CI=true npm ci --no-audit --no-fund --loglevel=error < /dev/null > /dev/null)
  cp "$HERE/package-lock.json" "$HERE/node_modules/.package-lock.json.installed"
fi

cd "$DIR"
list="$(mktemp)"
trap 'rm -f "$list" "$list.scan"' EXIT
if git rev-parse --is-inside-work-tree > /dev/null 2>&1; then
  git ls-files -z --cached --others --exclude-standard > "$list"
else
  find . -type f -not -path '*/.git/*' -not -path '*/node_modules/*' -not -path '*/bin/*' -not -path '*/obj/*' \
    -not -path './artifacts/*' -printf '%P\0' > "$list"
fi
# The allowed fixtures are exact paths, taken out of the list here (secretlint's own ignore file is read relative to
# each folder it walks, which does not fit a list of files).
allowed="$(grep -v -e '^#' -e '^[[:space:]]*$' "$HERE/.secretlintignore" || true)"
tr '\0' '\n' < "$list" | grep -vxF -e "${allowed:-/}" > "$list.scan" || true
count="$(wc -l < "$list.scan")"

status=0
tr '\n' '\0' < "$list.scan" | xargs -0 "$HERE/node_modules/.bin/secretlint" --no-glob --secretlintrc "$HERE/.secretlintrc.json" \
  --secretlintignore /dev/null --format unix || status=$?
if [ "$status" -ne 0 ]; then
  echo "secrets: a secret was found in $DIR (above, masked); remove it and rotate it, or allow a fixture in deploy/ci/.secretlintignore with the reason"
  exit 1
fi
echo "secrets: $count files scanned, no secret found"
