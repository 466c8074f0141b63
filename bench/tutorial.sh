#!/usr/bin/env bash
# The tutorial's own commands, as a shell script, on ports and names of the
# bench's own:
#   bench/tutorial.sh build   docker build of CONTEXT (default bench/tutorial-app, the tutorial's Dockerfile)
#   bench/tutorial.sh up      build (a cache hit once built), then docker run -d on bridge (x3),
#                             docker network create, docker run -d on it (x3), one --network host,
#                             one --network none; one command after the other, as typed.
#                             COUNT (default 8) scales it: COUNT-2 published, halved between the bridges.
#   bench/tutorial.sh down    docker rm -f of all (STOP=graceful: docker stop, then docker rm), docker network rm
#   bench/tutorial.sh clean   down, and the image too
# Differences from the tutorial, all for running beside the dev and e2e stacks:
# ports 25000-25006 (TUTORIAL_PORT_BASE) published on 127.0.0.1 only; the
# host-mode app gets PORT/HOST from the environment (tutorial-app/app.py reads
# them); names start with bench-tutorial- and carry the label
# flask-bridge.bench=tutorial, so cleanup finds them.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

if [ -z "${FLASK_BRIDGE_BASE_IMAGE:-}" ] && [ -f "${FLASK_BRIDGE_HOME:-$HOME/.flask-bridge}/base-image.env" ]; then
  # shellcheck disable=SC1091
  source "${FLASK_BRIDGE_HOME:-$HOME/.flask-bridge}/base-image.env"
fi
base="${FLASK_BRIDGE_BASE_IMAGE:-python:3.11-slim}"
image="${TUTORIAL_IMAGE:-flask-bridge-bench-tutorial}"
context="${CONTEXT:-$here/tutorial-app}"
count="${COUNT:-8}"
bridge=$(((count - 2) / 2))
custom=$((count - 2 - bridge))
network="${TUTORIAL_NETWORK:-bench-tutorial-network}"
port="${TUTORIAL_PORT_BASE:-25000}"
bind="127.0.0.1"
label="flask-bridge.bench=tutorial"
prefix="bench-tutorial"

build() {
  # The v28 client here has no buildx, so this is the classic builder either way;
  # DOCKER_BUILDKIT=0 says so; its deprecation notice is shown only on failure.
  local out
  if ! out="$(DOCKER_BUILDKIT=0 docker build -q --build-arg "BASE_IMAGE=$base" --label "$label" -t "$image" "$context" 2>&1)"; then
    printf '%s\n' "$out" >&2
    return 1
  fi
}

up() {
  build
  local i
  for i in $(seq 1 "$bridge"); do
    docker run -d --name "$prefix-bridge-$i" --label "$label" -p "$bind:$((port + i)):5000" "$image" >/dev/null
  done
  docker network create --label "$label" "$network" >/dev/null
  for i in $(seq 1 "$custom"); do
    docker run -d --name "$prefix-custom-$i" --label "$label" --network "$network" \
      -p "$bind:$((port + bridge + i)):5000" "$image" >/dev/null
  done
  docker run -d --name "$prefix-host" --label "$label" --network host -e "PORT=$port" -e "HOST=$bind" "$image" >/dev/null
  docker run -d --name "$prefix-none" --label "$label" --network none "$image" >/dev/null
}

down() {
  local containers
  containers="$(docker ps -aq --filter "label=$label")"
  if [ -n "$containers" ]; then
    # shellcheck disable=SC2086 # one id per word
    if [ "${STOP:-kill}" = graceful ]; then
      docker stop -t 10 $containers >/dev/null
      docker rm $containers >/dev/null
    else
      docker rm -f $containers >/dev/null
    fi
  fi
  if docker network inspect "$network" >/dev/null 2>&1; then
    docker network rm "$network" >/dev/null
  fi
}

case "${1:-}" in
  build) build ;;
  up) up ;;
  down) down ;;
  clean)
    down
    docker image rm -f "$image" >/dev/null 2>&1 || true
    ;;
  *)
    echo "usage: $0 build|up|down|clean" >&2
    exit 2
    ;;
esac
