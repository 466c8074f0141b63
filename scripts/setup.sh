#!/usr/bin/env bash
# Brings a machine from nothing to ready: npm packages, Docker engine, the
# official Pulumi CLI and plugins, base image, and the local backend with the
# dev stack. Idempotent: when all is there it makes no network request and
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
    fb_npm_current "$dir" || npm ci --prefix "$dir" --no-audit --no-fund --ignore-scripts
  done
}

# The dev stack's base image: Pulumi.dev.yaml, else Pulumi.yaml's default.
fb_configured_base_image() {
  node -e '
    const yaml = require("js-yaml"), fs = require("fs");
    const dev = yaml.load(fs.readFileSync("Pulumi.dev.yaml", "utf8")).config ?? {};
    const project = yaml.load(fs.readFileSync("Pulumi.yaml", "utf8")).config;
    process.stdout.write(dev["flask-bridge:baseImage"] ?? project.baseImage.default);'
}

fb_stack_file() { echo "$FLASK_BRIDGE_HOME/state/.pulumi/stacks/flask-bridge/$1.json"; }
fb_ensure_stack() {
  [ -f "$(fb_stack_file "$1")" ] || pulumi stack init "$1" --non-interactive
}

# Stacks written by the retired stand-in plugins: they kept `__inputs` as a
# JSON string, which the official docker plugin cannot read.
fb_legacy_stacks() { grep -lE '"__inputs": ?"' "$FLASK_BRIDGE_HOME"/state/.pulumi/stacks/*/*.json 2>/dev/null; }
fb_retire_legacy_stacks() {
  local file stack project filter
  while read -r file; do
    stack="$(basename "$file" .json)" project="$(basename "$(dirname "$file")")"
    filter="label=flask-bridge.stack=$stack"
    fb_log "    stack $stack was made by the retired stand-in plugins: removing its containers, networks and images ($filter) and its state; the next up creates it anew"
    docker ps -aq --filter "$filter" | xargs -r docker rm -f >/dev/null
    docker network ls -q --filter "$filter" | xargs -r docker network rm >/dev/null
    docker image ls -q --filter "$filter" | xargs -r docker image rm -f >/dev/null
    pulumi stack rm "organization/$project/$stack" --force --yes --preserve-config --non-interactive >/dev/null 2>&1 ||
      rm -f "$file" "$file.bak"
  done < <(fb_legacy_stacks)
}

# shellcheck source=env.sh
source "$here/env.sh"
# shellcheck source=lib/docker-engine.sh
source "$here/lib/docker-engine.sh"
# shellcheck source=lib/toolchain.sh
source "$here/lib/toolchain.sh"
# shellcheck source=lib/base-image.sh
source "$here/lib/base-image.sh"

start=$SECONDS
if fb_npm_current . && fb_npm_current policy && fb_engine_ready &&
  fb_toolchain_ready && fb_base_image_ready "$(fb_configured_base_image)" &&
  [ -f "$(fb_stack_file dev)" ] && ! fb_legacy_stacks >/dev/null; then
  fb_log "ready in $((SECONDS - start))s: pulumi v$FB_WANT_CLI ($FB_PULUMI_BIN_DIR), official docker and command plugins, Docker engine${DOCKER_HOST:+ at $DOCKER_HOST}, stack dev"
  exit 0
fi

fb_step "npm dependencies" fb_ensure_npm_deps
fb_step "Docker engine" fb_ensure_docker
fb_step "Pulumi CLI and plugins" fb_ensure_toolchain
# shellcheck source=env.sh
source "$here/env.sh" # picks up the CLI chosen by the step above
fb_step "Base image" fb_ensure_base_image "$(fb_configured_base_image)"
# shellcheck source=env.sh
source "$here/env.sh" # picks up a stand-in recorded by the step above
fb_legacy_stacks >/dev/null && fb_step "Stacks left by the retired stand-in plugins" fb_retire_legacy_stacks
fb_step "Local backend and dev stack" fb_ensure_stack dev
fb_log "setup finished in $((SECONDS - start))s; to type pulumi yourself: source scripts/env.sh"
