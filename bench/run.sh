#!/usr/bin/env bash
# npm run bench: setup, then the bench's own tools (wrk, Debian's docker-compose)
# when missing, then the TypeScript entry with the project's environment.
# Extra arguments are ignored; use BENCH_* variables (see bench/bench.ts).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$here/.."
bash scripts/setup.sh
# shellcheck source=../scripts/env.sh
source scripts/env.sh

missing=()
command -v wrk >/dev/null 2>&1 || missing+=(wrk)
command -v docker-compose >/dev/null 2>&1 || missing+=(docker-compose)
if [ "${#missing[@]}" -gt 0 ]; then
  fb_log "bench: installing ${missing[*]} (apt)"
  apt=(env DEBIAN_FRONTEND=noninteractive apt-get -y -q -o DPkg::Lock::Timeout=120)
  # apt's output goes to a log with the mirror's host masked.
  if ! out="$("${apt[@]}" install --no-install-recommends "${missing[@]}" 2>&1)"; then
    out+=$'\n'"$("${apt[@]}" update 2>&1 && "${apt[@]}" install --no-install-recommends "${missing[@]}" 2>&1)" || true
  fi
  printf '%s\n' "$out" | sed -E 's#([a-z]+://)[^/[:space:]]+#\1<mirror>#g' >>"$FB_LOG_DIR/apt-bench.log"
  for tool in wrk docker-compose; do
    command -v "$tool" >/dev/null 2>&1 || fb_die "could not install $tool; see $FB_LOG_DIR/apt-bench.log"
  done
fi

# Last resort if the bench itself is killed: everything it makes carries one
# of these labels (bench.ts cleans up by itself on errors and signals).
cleanup_by_label() {
  local ids
  ids="$(docker ps -aq --filter label=flask-bridge.bench --filter label=flask-bridge.stack=bench 2>/dev/null || true)"
  ids+=" $(docker ps -aq --filter label=flask-bridge.stack=bench 2>/dev/null || true)"
  ids+=" $(docker ps -aq --filter label=flask-bridge.stack=bench-terraform 2>/dev/null || true)"
  # shellcheck disable=SC2086
  [ -n "${ids// /}" ] && docker rm -f $ids >/dev/null 2>&1
  for net in bench-tutorial-network bench-compose-network bench-bridge-network bench-tf-network; do
    docker network rm "$net" >/dev/null 2>&1 || true
  done
  rm -rf "${TMPDIR:-/tmp}"/flask-bridge-bench-terraform-*
  return 0
}
trap cleanup_by_label EXIT

npx tsx bench/bench.ts
