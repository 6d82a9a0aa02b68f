#!/usr/bin/env bash
# The SBOM of the service: a CycloneDX 1.6 JSON document of src/App.Api and the projects it references, with every
# NuGet package it ships (direct and transitive, each with its purl, SHA-512 and licence; build-only packages
# left out), written by the CycloneDX .NET tool (.config/dotnet-tools.json). SbomTests validates it against the
# CycloneDX schema in deploy/ci/schemas/cyclonedx; the image workflow makes one for the image as well.
#
#   deploy/ci/sbom.sh [--no-restore] [OUTPUT_DIR]     (default artifacts/sbom; the file is app-api.cdx.json)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."

restore=1
out="artifacts/sbom"
for arg in "$@"; do
  case "$arg" in
    --no-restore) restore="" ;;
    -*) echo "unknown option: $arg" >&2; exit 2 ;;
    *) out="$arg" ;;
  esac
done

dotnet tool restore > /dev/null
if [ -n "$restore" ]; then
  dotnet restore src/App.Api/App.Api.csproj --nologo -v quiet
fi
version="$(git describe --tags --always 2> /dev/null || echo 0.0.0)"
dotnet CycloneDX src/App.Api/App.Api.csproj --recursive --include-project-references --exclude-dev \
  --disable-package-restore --output-format Json --spec-version 1.6 \
  --set-name app-api --set-version "$version" --output "$out" --filename app-api.cdx.json > /dev/null
echo "sbom: $out/app-api.cdx.json"
