#!/usr/bin/env bash
# The policy gate: evaluates the ValidatingAdmissionPolicy objects of deploy/policies/admission (the same YAML a
# cluster enforces) and the NetworkPolicy set rule against manifests, with the CEL engine @bufbuild/cel.
#   deploy/policies/check.sh                 render each deploy/k8s/overlays/* with kubectl kustomize and check it
#   deploy/policies/check.sh FILE|DIR ...    check files; a directory with a kustomization is rendered first
#   deploy/policies/check.sh --self-test     every fixture under deploy/policies/tests gets its expected verdict
# Prints '<file or overlay>: <Kind>/<name>: <policy>: <message>' per denial; exits 1 on any, 2 if it cannot check.
# Installs its npm packages (package-lock.json) into deploy/policies/node_modules on first use.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

command -v node > /dev/null || { echo "node (20 or newer) is needed for the policy gate" >&2; exit 2; }
# node_modules keeps a copy of the lock file it was installed from; a changed lock file reinstalls.
if ! cmp -s "$HERE/package-lock.json" "$HERE/node_modules/.installed-from.json"; then
  echo "Installing the policy gate's npm packages..." >&2
  (cd "$HERE" && npm ci --no-audit --no-fund --prefer-offline --loglevel=error > /dev/null)
  cp "$HERE/package-lock.json" "$HERE/node_modules/.installed-from.json"
fi

needs_kubectl=""
if [ $# -eq 0 ]; then
  needs_kubectl=1
else
  for arg in "$@"; do
    [ -d "$arg" ] && compgen -G "$arg/[kK]ustomization*" > /dev/null && needs_kubectl=1
  done
fi
if [ -n "$needs_kubectl" ] && ! command -v kubectl > /dev/null; then
  echo "kubectl is needed to render kustomize overlays (Debian package kubectl)" >&2
  exit 2
fi

exec node "$HERE/gate/main.mjs" "$@"
