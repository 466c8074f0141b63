#!/usr/bin/env bash
# Runs the project's own pulumi on the dev stack (or $FB_STACK), on the local
# backend: scripts/pulumi.sh up --yes. Extra arguments pass through.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=env.sh
source "$here/env.sh"
cd "$FB_REPO_ROOT"
command -v pulumi >/dev/null || fb_die "pulumi is not built yet; run: npm run setup"
exec pulumi --non-interactive "$1" --stack "${FB_STACK:-dev}" "${@:2}"
