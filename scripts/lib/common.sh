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

# The Debian mirror apt already uses: the first enabled `deb` source for the
# plain suite (not -updates/-security), one-line or deb822 format.
# FB_DEBIAN_MIRROR overrides it. Used by the stand-in base image and the VM disk.
fb_debian_mirror() {
  local suite="$1" f mirror="${FB_DEBIAN_MIRROR:-}"
  [ -n "$mirror" ] && echo "$mirror" && return 0
  for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources; do
    [ -f "$f" ] || continue
    case "$f" in
      *.sources)
        mirror="$(awk -v suite="$suite" '
          function flush() {
            if (!found && types ~ /(^| )deb( |$)/ && (" " suites " ") ~ (" " suite " ") && enabled != "no" && uri != "") { print uri; found = 1 }
            types = suites = uri = enabled = ""
          }
          /^[[:space:]]*#/ { next }
          /^[[:space:]]*$/ { flush(); next }
          tolower($1) == "types:"   { $1 = ""; types = $0 " " }
          tolower($1) == "suites:"  { $1 = ""; suites = $0 }
          tolower($1) == "uris:"    { uri = $2 }
          tolower($1) == "enabled:" { enabled = tolower($2) }
          END { flush() }' "$f")"
        ;;
      *)
        mirror="$(awk -v suite="$suite" '
          $1 == "deb" {
            i = 2
            if ($i ~ /^\[/) { while ($i !~ /\]$/ && i < NF) i++; i++ }
            if ($(i + 1) == suite) { print $i; exit }
          }' "$f")"
        ;;
    esac
    [ -n "$mirror" ] && echo "$mirror" && return 0
  done
  fb_log "ERROR: no 'deb' source for $suite in /etc/apt/sources.list*; set FB_DEBIAN_MIRROR"
  return 1
}
