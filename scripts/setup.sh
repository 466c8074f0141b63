#!/usr/bin/env bash
# Brings a machine from nothing to ready: npm packages, Docker engine, Pulumi
# toolchain (built from source when it cannot be downloaded), base image, and
# the local backend with the dev stack. Idempotent: a warm run takes seconds.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=lib/common.sh
source "$here/lib/common.sh"
cd "$FB_REPO_ROOT"

# npm rewrites node_modules/.package-lock.json on every install, so it is newer
# than package-lock.json exactly when the install is current.
fb_ensure_npm_deps() {
  local dir
  for dir in . policy; do
    if [ "$dir/node_modules/.package-lock.json" -nt "$dir/package-lock.json" ]; then
      fb_log "    $dir/node_modules is newer than $dir/package-lock.json"
    else
      # --ignore-scripts: the root's postinstall would install policy/ a second time.
      npm ci --prefix "$dir" --no-audit --no-fund --ignore-scripts
    fi
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

fb_ensure_stack() {
  local stack="$1"
  if pulumi stack ls --json 2>/dev/null | node -e '
      const stacks = JSON.parse(require("fs").readFileSync(0, "utf8"));
      process.exit(stacks.some((s) => s.name === process.argv[1]) ? 0 : 1);' "$stack"; then
    fb_log "    stack $stack exists in $PULUMI_BACKEND_URL"
  else
    pulumi stack init "$stack" --non-interactive
  fi
}

start=$SECONDS
fb_step "npm dependencies" fb_ensure_npm_deps
# shellcheck source=env.sh
source "$here/env.sh"
# shellcheck source=lib/docker-engine.sh
source "$here/lib/docker-engine.sh"
fb_step "Docker engine" fb_ensure_docker
# shellcheck source=lib/toolchain.sh
source "$here/lib/toolchain.sh"
fb_step "Pulumi toolchain" fb_ensure_toolchain
if [ -n "${FB_TOOLCHAIN_MISSING_PLUGINS:-}" ]; then
  fb_log "    STAND-IN PLUGINS IN USE for: $FB_TOOLCHAIN_MISSING_PLUGINS"
  fb_log "    plugins/bin (named in Pulumi.yaml) runs plugins/<name>.ts, the project's own"
  fb_log "    implementation of the types this program uses; see README, 'How setup works offline'."
fi
# shellcheck source=lib/base-image.sh
source "$here/lib/base-image.sh"
fb_step "Base image" fb_ensure_base_image "$(fb_configured_base_image)"
# shellcheck source=env.sh
source "$here/env.sh" # picks up a stand-in recorded by the step above
fb_step "Local backend and dev stack" fb_ensure_stack dev
fb_log "setup finished in $((SECONDS - start))s; to type pulumi yourself: source scripts/env.sh"
