#!/usr/bin/env bash
# Runs the project's own pulumi on the dev stack (or $FB_STACK), on the local
# backend: scripts/pulumi.sh up --yes. Extra arguments pass through. `up` and
# `preview` always run the mandatory policy pack in policy/.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=env.sh
source "$here/env.sh"
cd "$FB_REPO_ROOT"
command -v pulumi >/dev/null || fb_die "no pulumi CLI yet; run: npm run setup"
subcommand="$1"
shift
policy=()
case "$subcommand" in
  up | preview) policy=(--policy-pack "$FB_REPO_ROOT/policy") ;;
esac
exec pulumi --non-interactive "$subcommand" --stack "${FB_STACK:-dev}" "${policy[@]}" "$@"
