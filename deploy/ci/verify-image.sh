#!/usr/bin/env bash
# Verifies a released image and its SBOM as a deployer would, and shows the checks refuse what they must: the image's
# keyless cosign signature and its CycloneDX attestation, both made by this repository's image workflow on main
# (the certificate's identity and GitHub's OIDC issuer), its SLSA build provenance (GitHub attestation), and the SBOM
# file's signature bundle; then the same checks on an image this workflow never signed (the runtime base image) and
# on a copy of the SBOM with one byte added must fail. Needs cosign and gh (GH_TOKEN); runs in .github/workflows/image.yml.
#
#   deploy/ci/verify-image.sh IMAGE@sha256:DIGEST OWNER/REPO SBOM_FILE SBOM_BUNDLE
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
image="$1" repo="$2" sbom="$3" bundle="$4"

identity=(--certificate-identity "https://github.com/$repo/.github/workflows/image.yml@refs/heads/main"
  --certificate-oidc-issuer "https://token.actions.githubusercontent.com")

cosign verify "${identity[@]}" "$image" > /dev/null
echo "verify: the image's signature"
cosign verify-attestation --type cyclonedx "${identity[@]}" "$image" > /dev/null
echo "verify: the image's SBOM attestation"
gh attestation verify "oci://$image" --repo "$repo" --signer-workflow "$repo/.github/workflows/image.yml" > /dev/null
echo "verify: the image's build provenance"
cosign verify-blob "${identity[@]}" --bundle "$bundle" "$sbom" > /dev/null
echo "verify: the SBOM file's signature"

unsigned="$(awk '/^FROM .*aspnet/ { print $2 }' deploy/container/Dockerfile)"
if cosign verify "${identity[@]}" "$unsigned" > /dev/null 2>&1; then
  echo "verify: an image this workflow never signed passed verification ($unsigned)" >&2
  exit 1
fi
echo "verify: an unsigned image is refused"
tampered="$(mktemp)"
trap 'rm -f "$tampered"' EXIT
{ cat "$sbom"; echo; } > "$tampered"
if cosign verify-blob "${identity[@]}" --bundle "$bundle" "$tampered" > /dev/null 2>&1; then
  echo "verify: a tampered SBOM passed verification" >&2
  exit 1
fi
echo "verify: a tampered SBOM is refused"
