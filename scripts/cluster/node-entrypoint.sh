#!/bin/sh
# A worker's start: its dockerd, and the way to the swarm's own registry.
#
# A swarm whose own registry publishes port 5000 (the program's, when
# `registry` is empty) has every node pull from 127.0.0.1:5000. On real
# machines the routing mesh answers there on every node; this kernel has no
# IPVS, so the mesh never answers and the registry is published on the
# manager alone. socat gives this node's loopback each of those ports of the
# manager (FB_REGISTRY_MANAGER, its address, and FB_REGISTRY_PORTS, set by
# scripts/cluster.sh), so the worker pulls like any node would. The program
# knows nothing of it.
set -eu
for port in ${FB_REGISTRY_PORTS:-}; do
  socat "TCP-LISTEN:$port,bind=127.0.0.1,reuseaddr,fork" "TCP:$FB_REGISTRY_MANAGER:$port" &
done
exec dockerd --host=unix:///var/run/docker.sock "$@"
