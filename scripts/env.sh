#!/usr/bin/env bash
# Source this to use the project's own Pulumi toolchain and local backend:
#   source scripts/env.sh && pulumi stack ls
# Safe to source more than once.
# shellcheck source=lib/common.sh
source "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/lib/common.sh"

FB_PULUMI_VERSION="$(fb_npm_version @pulumi/pulumi 2>/dev/null || echo unknown)"
export FB_PULUMI_BIN_DIR="$FB_TOOLCHAIN_DIR/pulumi-v$FB_PULUMI_VERSION/bin"
case ":$PATH:" in
  *":$FB_PULUMI_BIN_DIR:"*) ;;
  *) export PATH="$FB_PULUMI_BIN_DIR:$PATH" ;;
esac

export PULUMI_HOME="$FLASK_BRIDGE_HOME/pulumi"
mkdir -p "$FLASK_BRIDGE_HOME/state"
export PULUMI_BACKEND_URL="file://$FLASK_BRIDGE_HOME/state"
# The stacks hold no secrets; a fixed passphrase keeps every run prompt-free and
# matches the encryptionsalt committed in Pulumi.dev.yaml.
export PULUMI_CONFIG_PASSPHRASE=flask-bridge-local
unset PULUMI_CONFIG_PASSPHRASE_FILE
export PULUMI_SKIP_UPDATE_CHECK=true
# The CLI's default is 4 per CPU (8 here). Creates and probes are mostly waiting
# on dockerd; at 64 containers 32 cut destroy from 42 s to 31 s (bench/).
export PULUMI_PARALLEL="${PULUMI_PARALLEL:-32}"
export PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION=true
# `npm run build` type-checks; the engine only needs the JavaScript (saves seconds a run).
export PULUMI_NODEJS_TRANSPILE_ONLY=true
export PULUMI_AUTOMATION_API_SKIP_VERSION_CHECK="${PULUMI_AUTOMATION_API_SKIP_VERSION_CHECK-false}"

# Written by setup when the configured base image could not be had and a
# stand-in was built instead (see scripts/lib/base-image.sh).
if [ -f "$FLASK_BRIDGE_HOME/base-image.env" ]; then
  # shellcheck disable=SC1091
  source "$FLASK_BRIDGE_HOME/base-image.env"
fi
