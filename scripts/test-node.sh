#!/usr/bin/env bash
# The unit suite and one real up, preview and destroy on each Node LTS beyond
# the machine's own (default 22 and 24), each on a stack, ports and subnet of
# its own. Node comes from the npm registry (lib/node.sh). Fails naming the
# version and the step.
#   scripts/test-node.sh [MAJOR...]
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=env.sh
source "$here/env.sh"
# shellcheck source=lib/node.sh
source "$here/lib/node.sh"
cd "$FB_REPO_ROOT"

# stack_config MAJOR STACK: ports <MAJOR>000-<MAJOR>006, subnet 10.213.<MAJOR+100>.0/24.
stack_config() {
  local major="$1" stack="$2" base=$(($1 * 1000)) prefix="e2e-node$1"
  local -a set=(pulumi config set --stack "$stack")
  "${set[@]}" imageName "flask-bridge-$prefix"
  "${set[@]}" namePrefix "$prefix"
  "${set[@]}" networkName "$prefix-network"
  "${set[@]}" networkSubnet "10.213.$((major + 100)).0/24"
  "${set[@]}" networkGateway "10.213.$((major + 100)).1"
  "${set[@]}" bindAddress 127.0.0.1
  "${set[@]}" urlHost 127.0.0.1
  "${set[@]}" hostPort "$base"
  "${set[@]}" --path 'bridgePorts[0]' "$((base + 1))"
  "${set[@]}" --path 'bridgePorts[1]' "$((base + 2))"
  "${set[@]}" --path 'bridgePorts[2]' "$((base + 3))"
  "${set[@]}" --path 'customPorts[0]' "$((base + 4))"
  "${set[@]}" --path 'customPorts[1]' "$((base + 5))"
  "${set[@]}" --path 'customPorts[2]' "$((base + 6))"
}

fail() { fb_die "Node $1: $2"; }

majors=("$@")
[ "${#majors[@]}" -gt 0 ] || majors=(22 24)
for major in "${majors[@]}"; do
  (
    bin="$(fb_node_bin "$major")" || fail "$major" "could not be fetched"
    export PATH="$bin:$PATH"
    version="$(node --version)"
    [[ "$version" == "v$major."* ]] || fail "$major" "node on PATH is $version"
    fb_log "==> Node $version: unit suite"
    node node_modules/jest/bin/jest.js --selectProjects unit --silent || fail "$version" "the unit suite failed"

    stack="e2e-node$major"
    fb_log "==> Node $version: up, preview, destroy on stack $stack"
    # What an interrupted earlier run left: its state, then its containers and network by label.
    pulumi stack rm "$stack" --force --yes --non-interactive >/dev/null 2>&1 || true
    rm -f "Pulumi.$stack.yaml"
    docker ps -aq --filter "label=flask-bridge.stack=$stack" | xargs -r docker rm -f >/dev/null
    docker network ls -q --filter "label=flask-bridge.stack=$stack" | xargs -r docker network rm >/dev/null
    FB_STACK="$stack" bash scripts/setup.sh
    stack_config "$major" "$stack"
    # The language host runs the program with the first node on PATH; `pulumi about` names it.
    about="$(pulumi about --stack "$stack" 2>&1 | grep "executable=" || true)"
    [[ "$about" == *"executable='$bin/node' version='$version'"* ]] || fail "$version" "Pulumi would not run the program on it: $about"
    out="$(FB_STACK="$stack" bash scripts/pulumi.sh up --yes --skip-preview 2>&1)" || { printf '%s\n' "$out" >&2; fail "$version" "up failed"; }
    answered="$(grep -c '"Hello, World!"' <<<"$out" || true)"
    [ "$answered" -eq 7 ] || { printf '%s\n' "$out" >&2; fail "$version" "up finished with $answered of 7 apps answering"; }
    FB_STACK="$stack" bash scripts/pulumi.sh preview --expect-no-changes >/dev/null 2>&1 ||
      fail "$version" "preview after up is not empty (FB_STACK=$stack npm run preview shows it)"
    FB_STACK="$stack" bash scripts/pulumi.sh destroy --yes --skip-preview >/dev/null || fail "$version" "destroy failed"
    left="$(docker ps -aq --filter "label=flask-bridge.stack=$stack" | wc -l)"
    [ "$left" -eq 0 ] || fail "$version" "destroy left $left containers"
    pulumi stack rm "$stack" --yes --non-interactive >/dev/null
    rm -f "Pulumi.$stack.yaml"
    fb_log "<== Node $version: 7 of 7 apps answered, preview empty, destroy left nothing"
  )
done
