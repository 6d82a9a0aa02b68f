#!/usr/bin/env bash
# Checks what can only be seen on a built image: the non-root user, the OCI labels, no shell, and a release command
# run on a read-only root filesystem with every capability dropped, as in the cluster. Needs docker; pulls the image if
# it is not local. .github/workflows/image.yml runs it on the very image it pushes (by digest).
#   deploy/container/check-image.sh IMAGE      (app-api:local, or ghcr.io/<owner>/app-api@sha256:<digest>)
set -euo pipefail

image="${1:?usage: $0 IMAGE}"
docker image inspect "$image" > /dev/null 2>&1 || docker pull --quiet "$image" > /dev/null

user="$(docker image inspect "$image" --format '{{.Config.User}}')"
[ "$user" = 1654 ] || { echo "the image runs as '$user', expected 1654 (APP_UID)" >&2; exit 1; }
for label in source revision version created; do
  value="$(docker image inspect "$image" --format "{{index .Config.Labels \"org.opencontainers.image.$label\"}}")"
  [ -n "$value" ] && [ "$value" != unknown ] || { echo "label org.opencontainers.image.$label is empty" >&2; exit 1; }
done
if docker run --rm --entrypoint /bin/sh "$image" -c true 2> /dev/null; then
  echo "the image has a shell" >&2
  exit 1
fi
# Captured whole before it is searched: grep -q stops reading at the first match, and under pipefail the writer's
# SIGPIPE would fail the check.
script="$(docker run --rm --read-only --tmpfs /tmp --cap-drop ALL --security-opt no-new-privileges "$image" migrations-script)"
grep -q 'CREATE SCHEMA' <<< "$script" || { echo "migrations-script printed no CREATE SCHEMA" >&2; exit 1; }
echo "image $image: user 1654, labels set, no shell, a command runs on a read-only root"
