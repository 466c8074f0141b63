#!/usr/bin/env bash
# After an interrupted `up` (Ctrl-C, a killed terminal): clears the operations
# Pulumi left pending, removes containers and networks that carry the stack's
# label but are not in its state (created just before the interruption), and
# runs `up` again. Stack: $FB_STACK, default dev.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=env.sh
source "$here/env.sh"
cd "$FB_REPO_ROOT"
stack="${FB_STACK:-dev}"

fb_step "refresh, clearing pending creates" \
  pulumi refresh --yes --non-interactive --clear-pending-creates --stack "$stack"

known="$(pulumi stack export --stack "$stack" | node -e '
  const state = JSON.parse(require("fs").readFileSync(0, "utf8"));
  for (const r of state.deployment.resources ?? []) if (r.id) console.log(r.id);')"
orphans() {
  local id
  for id in "$@"; do
    grep -qxF "$id" <<<"$known" || echo "$id"
  done
}
label="label=flask-bridge.stack=$stack"
mapfile -t containers < <(orphans $(docker ps -aq --no-trunc --filter "$label"))
mapfile -t networks < <(orphans $(docker network ls -q --no-trunc --filter "$label"))
if [ "${#containers[@]}" -gt 0 ]; then
  fb_log "removing ${#containers[@]} container(s) that the state does not know"
  docker rm -f "${containers[@]}" >/dev/null
fi
if [ "${#networks[@]}" -gt 0 ]; then
  fb_log "removing ${#networks[@]} network(s) that the state does not know"
  docker network rm "${networks[@]}" >/dev/null
fi

fb_step "up" bash "$here/pulumi.sh" up --yes
fb_log "stack $stack recovered"
