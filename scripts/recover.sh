#!/usr/bin/env bash
# After an interrupted `up` (Ctrl-C, a killed terminal, a machine that went
# away): the explicit form of what every `npm run up` now does first
# (scripts/heal.ts: a dead run's lock and pending operations cleared, labelled
# containers and networks the state does not know removed), plus a refresh of
# every resource whatever heal found. Stack: $FB_STACK, default dev.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=env.sh
source "$here/env.sh"
stack="${FB_STACK:-dev}"
fb_step "up, healed and refreshed" bash "$here/pulumi.sh" up --yes --refresh
fb_log "stack $stack recovered"
