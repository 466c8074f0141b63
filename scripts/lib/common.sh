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

# fb_step NAME CMD...: runs CMD as a step, printing its start and how long it
# took; when any command in it fails, the step fails and so does the script,
# with one line naming the step and its time.
# CMD runs under set -e as a plain command: `CMD || fb_die` (or `if CMD`,
# `CMD && ...`) would switch set -e off inside CMD and every function it
# calls, so a failed command there went unnoticed. inherit_errexit keeps
# set -e on inside $(...) too. The ERR trap (-E: inherited by functions) names
# the step. Never call fb_step itself in a condition, for the same reason.
FB__STEP=""
FB__STEP_START=0
FB__STEP_SHELL=""
fb_step() {
  # A step within a step: the outer one is named again once this one is done.
  local outer="$FB__STEP" outer_start="$FB__STEP_START" outer_shell="$FB__STEP_SHELL"
  FB__STEP="$1" FB__STEP_START=$SECONDS FB__STEP_SHELL=$BASHPID
  shift
  set -eE
  shopt -s inherit_errexit
  trap fb__step_failed ERR
  fb_log "==> $FB__STEP"
  "$@"
  fb_log "<== $FB__STEP done in $((SECONDS - FB__STEP_START))s"
  FB__STEP="$outer" FB__STEP_START="$outer_start" FB__STEP_SHELL="$outer_shell"
}

# The ERR trap: in the shell that runs the step, names the failed step and ends
# that shell; in a subshell of it ($(...), ( ), &) it says nothing, so a
# failure is reported once, by the shell that sees the subshell fail.
fb__step_failed() {
  local code=$?
  [ -n "$FB__STEP" ] && [ "$BASHPID" = "$FB__STEP_SHELL" ] || return "$code"
  local name="$FB__STEP"
  FB__STEP=""
  fb_die "$name failed (after $((SECONDS - FB__STEP_START))s)"
}

# fb_wait_for SECONDS WHAT CMD...: runs CMD (its output hidden) every 0.5 s
# until it succeeds, for at most SECONDS and 2*SECONDS+1 tries; a progress
# line every 10 s, and on timeout one line naming WHAT and the wait, status 1.
# CMD should bound itself (ssh's ConnectTimeout, `timeout`): a try that hangs
# holds the loop.
fb_wait_for() {
  local limit="$1" what="$2" tries=0 next=10 start elapsed elapsed_ms
  shift 2
  start="${EPOCHREALTIME//[!0-9]/}" # microseconds; $SECONDS would be off by up to 1 s
  while :; do
    "$@" >/dev/null 2>&1 && return 0
    tries=$((tries + 1))
    elapsed_ms=$(((${EPOCHREALTIME//[!0-9]/} - start) / 1000)) elapsed=$((elapsed_ms / 1000))
    if [ "$elapsed_ms" -ge $((limit * 1000)) ] || [ "$tries" -gt $((limit * 2)) ]; then
      break
    fi
    if [ "$elapsed" -ge "$next" ]; then
      fb_log "    ... waiting for $what (${elapsed}s of ${limit}s)"
      next=$((next + 10))
    fi
    sleep 0.5
  done
  fb_log "ERROR: timed out after ${limit}s waiting for $what"
  return 1
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

# Versions come from the installed npm packages (scripts/env.sh reads them:
# FB_PINNED_CLI, FB_PINNED_DOCKER, ...), so a bump in package.json is the only
# edit needed. Empty before npm installed them.
fb_pinned_version() {
  local name="FB_PINNED_${1^^}"
  echo "${!name:-}"
}

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
