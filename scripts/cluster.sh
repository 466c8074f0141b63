#!/usr/bin/env bash
# A real multi-node Docker Swarm on one machine, for tests and demos.
# FLASK_BRIDGE_CLUSTER chooses the kind of node:
#   dind (default, fast)  the host engine as manager, workers are dockerd in containers
#   vm                    3 QEMU VMs with Debian's own kernel (scripts/vm/cluster.sh):
#                         Swarm's VIPs and routing mesh need IPVS, which this kernel lacks
#   scripts/cluster.sh up            host engine = manager, + FLASK_BRIDGE_CLUSTER_NODES workers (default 2)
#   scripts/cluster.sh down          removes the workers, their volumes and cgroups; leaves the
#                                    swarm if `up` initialised it
# Workers are containers running Debian's dockerd (docker in docker). --privileged
# fails on this VM (CAP_SYS_RESOURCE is not in its capability set), so they get
# the capabilities dockerd needs one by one.
# To the program it is a plain swarm: images reach the workers through a
# registry, like on any other swarm. What a worker here needs for that is set up
# here: its 127.0.0.1:5000 leads to the manager's port 5000, where the swarm's
# own registry is published (scripts/cluster/node-entrypoint.sh says why).
set -euo pipefail
# shellcheck source=lib/common.sh
source "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/lib/common.sh"

case "${FLASK_BRIDGE_CLUSTER:-dind}" in
  dind) ;;
  vm) exec bash "$FB_REPO_ROOT/scripts/vm/cluster.sh" "$@" ;;
  *) fb_die "FLASK_BRIDGE_CLUSTER must be \"dind\" (dockerd in containers, the default) or \"vm\" (QEMU VMs), not \"$FLASK_BRIDGE_CLUSTER\"" ;;
esac

NODE_IMAGE="flask-bridge/swarm-node:bookworm"
# scripts/cluster/Dockerfile's recipe label: a node image of another recipe is rebuilt.
NODE_RECIPE="3"
NODE_LABEL="flask-bridge.cluster=node"
# The ports a swarm's own registry may publish (Pulumi.yaml's registryPort): the
# default 5000 and the swarm e2e's 19005. A worker forwards each from its loopback.
REGISTRY_PORTS="${FLASK_BRIDGE_CLUSTER_REGISTRY_PORTS:-5000 19005}"
# Written when `up` turned the host engine into a manager, so `down` undoes only that.
INIT_MARKER="$FLASK_BRIDGE_HOME/cluster-initialised-swarm"
BASE_IMAGE="${FLASK_BRIDGE_BASE_IMAGE:-flask-bridge/debian-python:bookworm}"

nodes() { docker ps -a --filter "label=$NODE_LABEL" --format '{{.Names}}' | sort; }

build_node_image() {
  [ "$(docker image inspect -f '{{index .Config.Labels "flask-bridge.cluster.recipe"}}' "$NODE_IMAGE" 2>/dev/null)" = "$NODE_RECIPE" ] &&
    return 0
  local old_id
  old_id="$(docker image inspect -f '{{.Id}}' "$NODE_IMAGE" 2>/dev/null || true)"
  docker build -q --build-arg "BASE_IMAGE=$BASE_IMAGE" -t "$NODE_IMAGE" "$FB_REPO_ROOT/scripts/cluster" >/dev/null
  # The older recipe's image, unless a worker still runs it (start_node replaces those).
  if [ -n "$old_id" ]; then docker image rm "$old_id" >/dev/null 2>&1 || true; fi
}

init_manager() {
  case "$(docker info --format '{{.Swarm.LocalNodeState}}/{{.Swarm.ControlAvailable}}')" in
    active/true) fb_log "host engine is already a swarm manager; keeping it" ;;
    inactive/*)
      # The workers reach the host, and its end of the overlay, on the default
      # bridge's interface (docker0); the machine's own address fails for VXLAN.
      local bridge addr
      bridge="$(docker network inspect bridge --format '{{index .Options "com.docker.network.bridge.name"}}')"
      addr="$(ip -4 -o addr show "$bridge" | awk '{ split($4, a, "/"); print a[1]; exit }')"
      [ -n "$addr" ] || fb_die "no IPv4 address on $bridge, the default bridge's interface"
      # The marker only once the init worked: `down` would otherwise leave a
      # swarm that this script did not make (explicit, not left to set -e).
      docker swarm init --advertise-addr "$addr" >/dev/null || return 1
      touch "$INIT_MARKER"
      fb_log "host engine is now the swarm manager at $addr:2377"
      ;;
    *) fb_die "the host engine is in a swarm but not a manager; run this on a manager" ;;
  esac
}

start_node() {
  local name="$1" manager_addr
  # The address the workers reach the manager at (docker0's, see init_manager).
  manager_addr="$(docker info --format '{{.Swarm.NodeAddr}}')"
  # A worker from an older node image, or forwarding other ports, is replaced.
  if docker inspect "$name" >/dev/null 2>&1 &&
    { [ "$(docker inspect -f '{{index .Config.Labels "flask-bridge.cluster.recipe"}}' "$name")" != "$NODE_RECIPE" ] ||
      ! docker inspect -f '{{range .Config.Env}}{{println .}}{{end}}' "$name" | grep -qxF "FB_REGISTRY_PORTS=$REGISTRY_PORTS"; }; then
    fb_log "replacing $name: it is from an older node image or forwards other registry ports"
    docker node rm --force "$name" >/dev/null 2>&1 || true
    docker rm -f -v "$name" >/dev/null
  fi
  if [ "$(docker inspect -f '{{.State.Running}}' "$name" 2>/dev/null)" != "true" ]; then
    docker rm -f -v "$name" >/dev/null 2>&1 || true
    # An anonymous volume on /var/lib/docker gives the inner engine overlay2;
    # --cgroup-parent keeps its containers out of the host engine's cgroups.
    docker run -d --name "$name" --hostname "$name" \
      --label flask-bridge.project=flask-bridge --label "$NODE_LABEL" \
      --cap-add SYS_ADMIN --cap-add NET_ADMIN --cap-add MKNOD --cap-add NET_RAW \
      --cap-add SYS_PTRACE --cap-add SYS_MODULE \
      --security-opt seccomp=unconfined --security-opt apparmor=unconfined \
      -v /var/lib/docker -v /sys/fs/cgroup:/sys/fs/cgroup:rw \
      -e "FB_REGISTRY_MANAGER=$manager_addr" -e "FB_REGISTRY_PORTS=$REGISTRY_PORTS" \
      "$NODE_IMAGE" "--cgroup-parent=/$name" >/dev/null
  fi
  fb_wait_for 60 "dockerd answering in $name" docker exec "$name" timeout 10 docker info
  if [ "$(docker exec "$name" docker info --format '{{.Swarm.LocalNodeState}}')" != "active" ]; then
    local manager token
    manager="$(docker info --format '{{(index .Swarm.RemoteManagers 0).Addr}}')"
    token="$(docker swarm join-token -q worker)"
    docker exec "$name" docker swarm join --token "$token" "$manager" >/dev/null
  fi
}

ready_nodes() { docker node ls --format '{{.Status}}' | grep -c '^Ready$'; }

up() {
  local count="${FLASK_BRIDGE_CLUSTER_NODES:-2}" start=$SECONDS i
  fb_step "node image $NODE_IMAGE (apt-get install docker.io iptables socat on the first run)" build_node_image
  fb_step "swarm manager on the host engine" init_manager
  for i in $(seq "$count"); do
    fb_step "worker flask-bridge-node-$i (dockerd in a container, joins the swarm)" start_node "flask-bridge-node-$i"
  done
  fb_step "all $((count + 1)) nodes Ready" fb_wait_for 120 "$((count + 1)) Ready nodes" \
    bash -c '[ "$(docker node ls --format "{{.Status}}" | grep -c "^Ready$")" -ge "$1" ]' _ "$((count + 1))"
  fb_log "cluster up in $((SECONDS - start))s: $(ready_nodes) nodes Ready"
  docker node ls >&2
}

down() {
  local start=$SECONDS node
  for node in $(nodes); do
    fb_log "removing worker $node"
    docker node rm --force "$node" >/dev/null 2>&1 || true
    # -v: the anonymous /var/lib/docker volume goes with it.
    docker rm -f -v "$node" >/dev/null
    # The inner engine's cgroups, deepest first; only empty directories go.
    find /sys/fs/cgroup -mindepth 2 -maxdepth 2 -type d -name "$node" 2>/dev/null |
      while read -r dir; do find "$dir" -depth -type d -exec rmdir {} + 2>/dev/null || true; done
  done
  if [ -f "$INIT_MARKER" ]; then
    fb_log "leaving the swarm that cluster:up initialised"
    docker swarm leave --force >/dev/null 2>&1 || true
    # Swarm's bridge to the outside world outlives the swarm; nothing else uses it.
    docker network rm docker_gwbridge >/dev/null 2>&1 || true
    rm -f "$INIT_MARKER"
  fi
  fb_log "cluster down in $((SECONDS - start))s"
}

case "${1:-}" in
  up) up ;;
  down) down ;;
  *) fb_die "usage: scripts/cluster.sh up|down" ;;
esac
