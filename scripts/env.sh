#!/usr/bin/env bash
# Source this to use the Pulumi CLI that setup chose, with the project's local
# backend and plugin cache:
#   source scripts/env.sh && pulumi stack ls
# Safe to source more than once.
# shellcheck source=lib/common.sh
source "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/lib/common.sh"

# Written by setup (lib/toolchain.sh): FB_PULUMI_BIN_DIR, and plugin
# acquisition switched off because setup installed the plugins.
if [ -f "$FLASK_BRIDGE_HOME/toolchain.env" ]; then
  # shellcheck disable=SC1091
  source "$FLASK_BRIDGE_HOME/toolchain.env"
  case ":$PATH:" in
    *":$FB_PULUMI_BIN_DIR:"*) ;;
    *) export PATH="$FB_PULUMI_BIN_DIR:$PATH" ;;
  esac
fi

# The user's own Pulumi home, before the project's replaces it: setup takes the
# pinned plugins from its cache when it has them.
if [ "${PULUMI_HOME:-}" != "$FLASK_BRIDGE_HOME/pulumi" ]; then
  export FB_USER_PULUMI_HOME="${PULUMI_HOME:-${HOME:-}/.pulumi}"
fi
export PULUMI_HOME="$FLASK_BRIDGE_HOME/pulumi"
mkdir -p "$FLASK_BRIDGE_HOME/state"
export PULUMI_BACKEND_URL="file://$FLASK_BRIDGE_HOME/state"
# The stacks hold no secrets; a fixed passphrase keeps every run prompt-free and
# matches the encryptionsalt committed in Pulumi.dev.yaml.
export PULUMI_CONFIG_PASSPHRASE=flask-bridge-local
unset PULUMI_CONFIG_PASSPHRASE_FILE
export PULUMI_SKIP_UPDATE_CHECK=true
# Terraform's default, 10. At 64 containers on 2 cores it beat 32, 7 rounds
# alternating (medians): up 24.8 against 26.4 s, destroy 11.5 against 13.7 s;
# more operations at once only made dockerd and the starting apps fight for CPU.
export PULUMI_PARALLEL="${PULUMI_PARALLEL:-10}"
# The providers' diffs run side by side, not one resource after the other: a
# converged preview of 64 containers, 3 rounds alternating, 5.84 against 6.72 s.
export PULUMI_PARALLEL_DIFF="${PULUMI_PARALLEL_DIFF:-true}"
# Pulumi's CLI and its Go plugins collect garbage a quarter as often (a heap up
# to 5x the live data instead of 2x). Up of 64 containers, 3 rounds alternating:
# the tools' CPU 6.28 -> 5.59 CPU-seconds; the docker plugin's peak 85 -> 124 MB.
export GOGC="${GOGC:-400}"
# Node >= 22 keeps the modules it compiled here, so the program and the policy
# pack start faster (bench/node.ts); Node 20 ignores it.
export NODE_COMPILE_CACHE="${NODE_COMPILE_CACHE-$FLASK_BRIDGE_HOME/node-compile-cache}"

# The engine, as the program resolves it (scripts/stack-config.ts runs its resolver):
# DOCKER_HOST, else the stack's docker:host, DOCKER_CONTEXT or the CLI's current
# context, exported for the scripts' own docker commands; and the stack's
# configured base image (FB_CONFIGURED_BASE_IMAGE), which setup prepares. One node
# start for both. Before the first `npm ci` there is no resolver yet: setup sources
# this file again after it. scripts/pulumi.sh sets FB_ENGINE_ENV=0: Pulumi's
# program and the heal step resolve the engine themselves, so a run spares the start.
if [ "${FB_ENGINE_ENV:-1}" != 0 ] && [ -d "$FB_REPO_ROOT/node_modules/tsx" ]; then
  fb_engine_env="$(node --require tsx/cjs "$FB_REPO_ROOT/scripts/stack-config.ts" env "${FB_STACK:-dev}" "$FB_REPO_ROOT")" || return 1
  while IFS='=' read -r fb_name fb_value; do
    [ -n "$fb_name" ] && export "$fb_name=$fb_value"
  done <<<"$fb_engine_env"
  unset fb_engine_env fb_name fb_value
fi

# Written by setup when the configured base image could not be had and a
# stand-in was built instead (see scripts/lib/base-image.sh).
if [ -f "$FLASK_BRIDGE_HOME/base-image.env" ]; then
  # shellcheck disable=SC1091
  source "$FLASK_BRIDGE_HOME/base-image.env"
fi
