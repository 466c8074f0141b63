#!/usr/bin/env bash
# Brings a machine from nothing to ready: npm packages, Docker engine, the
# official Pulumi CLI and plugins, base image, and the local backend with the
# stack $FB_STACK (default dev). Idempotent: when all is there it makes no network request and
# prints one line.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=lib/common.sh
source "$here/lib/common.sh"
cd "$FB_REPO_ROOT"

# npm rewrites node_modules/.package-lock.json on every install, so it is newer
# than package-lock.json exactly when the install is current.
fb_npm_current() { [ "$1/node_modules/.package-lock.json" -nt "$1/package-lock.json" ]; }
fb_ensure_npm_deps() {
  local dir
  for dir in . policy; do
    # --ignore-scripts: the root's postinstall would install policy/ a second time.
    if ! fb_npm_current "$dir"; then
      npm ci --prefix "$dir" --no-audit --no-fund --ignore-scripts
    fi
  done
}

fb_stack_file() { echo "$FLASK_BRIDGE_HOME/state/.pulumi/stacks/flask-bridge/$1.json"; }
# A new stack starts from the config defaults in Pulumi.yaml.
fb_ensure_stack() {
  [ -f "$(fb_stack_file "$1")" ] && return 0
  local out
  out="$(pulumi stack init "$1" --non-interactive 2>&1)" || { printf '%s\n' "$out" >&2; return 1; }
  fb_log "created stack $1 (config: the defaults in Pulumi.yaml; pulumi config set --stack $1 changes them)"
}

# shellcheck source=env.sh
source "$here/env.sh"
# shellcheck source=lib/docker-engine.sh
source "$here/lib/docker-engine.sh"
# shellcheck source=lib/toolchain.sh
source "$here/lib/toolchain.sh"
# shellcheck source=lib/base-image.sh
source "$here/lib/base-image.sh"
# shellcheck source=lib/node.sh
source "$here/lib/node.sh"

# Every npm command works on $FB_STACK (default dev), created on first use.
FB_STACK="${FB_STACK:-dev}"
start=$SECONDS
fb_prune_compile_cache
# The stack's base image (FB_CONFIGURED_BASE_IMAGE) comes from scripts/env.sh:
# its Pulumi.<stack>.yaml, else Pulumi.yaml's default.
if fb_npm_current . && fb_npm_current policy; then
  if fb_engine_ready && fb_toolchain_ready && fb_program_node_ready && fb_base_image_ready "$FB_CONFIGURED_BASE_IMAGE"; then
    fb_ensure_stack "$FB_STACK"
    fb_log "ready in $((SECONDS - start))s: pulumi v$FB_WANT_CLI ($FB_PULUMI_BIN_DIR), official docker and command plugins, Docker engine${DOCKER_HOST:+ at $DOCKER_HOST}, stack $FB_STACK"
    exit 0
  fi
fi

# Each step runs under set -e (lib/common.sh): a failed command in it ends setup, naming the step.
fb_step "npm dependencies" fb_ensure_npm_deps
# shellcheck source=env.sh
source "$here/env.sh" # the engine and the base image, by the resolver that the step above installed
if ! fb_program_node_ready; then
  fb_step "Node $FB_PROGRAM_NODE_MAJOR for the program (this machine's node is $(node --version))" fb_fetch_program_node
fi
fb_step "Docker engine" fb_ensure_docker
fb_step "Pulumi CLI and plugins" fb_ensure_toolchain
# shellcheck source=env.sh
source "$here/env.sh" # picks up the CLI chosen by the step above
fb_step "Base image" fb_ensure_base_image "$FB_CONFIGURED_BASE_IMAGE"
# shellcheck source=env.sh
source "$here/env.sh" # picks up a stand-in recorded by the step above
fb_step "Local backend and stack $FB_STACK" fb_ensure_stack "$FB_STACK"
fb_log "setup finished in $((SECONDS - start))s; to type pulumi yourself: source scripts/env.sh"
