#!/usr/bin/env bash
# Shared by every script: where caches live, and how progress is printed.
# Sourced, never run.

# Everything the project keeps outside the repository: toolchain, state, logs.
# A fresh clone on the same machine reuses it.
export FLASK_BRIDGE_HOME="${FLASK_BRIDGE_HOME:-$HOME/.flask-bridge}"
export FB_TOOLCHAIN_DIR="$FLASK_BRIDGE_HOME/toolchain"
export FB_LOG_DIR="$FLASK_BRIDGE_HOME/logs"
mkdir -p "$FB_TOOLCHAIN_DIR" "$FB_LOG_DIR"

FB_REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
export FB_REPO_ROOT

fb_log() { printf '[setup %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
fb_die() {
  printf '[setup %s] ERROR: %s\n' "$(date +%H:%M:%S)" "$*" >&2
  exit 1
}

# fb_step NAME CMD...: runs CMD, printing its start and how long it took.
fb_step() {
  local name="$1"
  shift
  local start=$SECONDS
  fb_log "==> $name"
  "$@" || fb_die "$name failed (after $((SECONDS - start))s)"
  fb_log "<== $name done in $((SECONDS - start))s"
}

# fb_heartbeat PID LABEL: prints a line every 30 s while PID lives, so long
# builds never look hung.
fb_heartbeat() {
  local pid="$1" label="$2" start=$SECONDS
  while kill -0 "$pid" 2>/dev/null; do
    sleep 30
    kill -0 "$pid" 2>/dev/null && fb_log "    ... $label still running ($((SECONDS - start))s)"
  done
}

# Versions come from the installed npm packages, so a bump in package.json
# is the only edit needed.
fb_npm_version() { node -p "require('$FB_REPO_ROOT/node_modules/$1/package.json').version"; }
fb_plugin_version() { node -p "require('$FB_REPO_ROOT/node_modules/$1/package.json').pulumi.version"; }
