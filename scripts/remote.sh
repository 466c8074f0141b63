#!/usr/bin/env bash
# A second machine for the tutorial's own setting (Docker on a VM, opened from
# the PC): a container on this machine's engine with its own address, network
# stack and firewall, running sshd and Debian's dockerd.
#   scripts/remote.sh up [NAME]        start it (default NAME flask-bridge-remote); the
#                                      last line on stdout is DOCKER_HOST=ssh://root@<address>
#   scripts/remote.sh down [NAME]      remove it, its disk, its keys and its ~/.ssh/config entry
#   scripts/remote.sh tls DIR [NAME]   also serve tcp://<address>:2376 with TLS, from
#                                      DIR/ca.pem, DIR/server-cert.pem and DIR/server-key.pem
#   scripts/remote.sh address [NAME]   print its address
# Progress goes to stderr. The machine image is kept, like the base image.
set -euo pipefail
# shellcheck source=lib/common.sh
source "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/lib/common.sh"

IMAGE="flask-bridge/remote-machine:bookworm"
# Bump when scripts/remote/ changes: an image of another recipe is rebuilt.
RECIPE="2"
# The machine runs on THIS machine's engine, whatever DOCKER_HOST says.
local_docker() { command docker --host unix:///var/run/docker.sock "$@"; }

name_of() {
  local name="${1:-flask-bridge-remote}"
  [[ "$name" =~ ^[a-z0-9][a-z0-9-]*$ ]] || fb_die "remote name '$name': use lowercase letters, digits and '-'"
  echo "$name"
}
key_dir() { echo "$FLASK_BRIDGE_HOME/remote/$1"; }
machines() { local_docker ps -aq --filter "label=flask-bridge.remote=$1"; }
address_of() { local_docker inspect -f '{{.NetworkSettings.IPAddress}}' "$1" 2>/dev/null; }

# Debian packages this side needs (ssh for ssh://, openssl for TLS certificates).
ensure_packages() {
  local missing=() tool
  for tool in ssh:openssh-client ssh-keygen:openssh-client openssl:openssl; do
    command -v "${tool%%:*}" >/dev/null 2>&1 || missing+=("${tool#*:}")
  done
  [ "${#missing[@]}" -eq 0 ] && return 0
  local log="$FB_LOG_DIR/apt-remote.log"
  local -a apt=(env DEBIAN_FRONTEND=noninteractive apt-get -y -q -o DPkg::Lock::Timeout=120)
  fb_log "installing ${missing[*]} (apt; log: $log)"
  { "${apt[@]}" install --no-install-recommends "${missing[@]}" ||
    { "${apt[@]}" update && "${apt[@]}" install --no-install-recommends "${missing[@]}"; }; } 2>&1 |
    sed -E 's#([a-z]+://)[^/[:space:]]+#\1<mirror>#g' >>"$log" || true
  command -v ssh >/dev/null 2>&1 && command -v openssl >/dev/null 2>&1 ||
    fb_die "could not install ${missing[*]}; see $log"
}

build_image() {
  [ "$(local_docker image inspect -f '{{index .Config.Labels "flask-bridge.remote.recipe"}}' "$IMAGE" 2>/dev/null)" = "$RECIPE" ] &&
    return 0
  local base="${FLASK_BRIDGE_BASE_IMAGE:-}"
  [ -n "$base" ] || base="$(node -p "require('js-yaml').load(require('fs').readFileSync('$FB_REPO_ROOT/Pulumi.yaml','utf8')).config.baseImage.default")"
  local out
  # Its output only on failure: the legacy builder warns about buildx on every build.
  out="$(local_docker build -q --build-arg "BASE_IMAGE=$base" --label "flask-bridge.remote.recipe=$RECIPE" \
    -t "$IMAGE" "$FB_REPO_ROOT/scripts/remote" 2>&1)" || { printf '%s\n' "$out" | tail -n 15 >&2; return 1; }
}

SSH_MARK="flask-bridge remote"
# Drops NAME's block from ~/.ssh/config.
forget_ssh() {
  local config="$HOME/.ssh/config"
  [ -f "$config" ] || return 0
  sed -i "/^# >>> $SSH_MARK $1 /,/^# <<< $SSH_MARK $1\$/d" "$config"
}
# ssh (and so docker, and the provider) reach root@ADDRESS with the generated key
# and trust only the generated host key. First in the file: ssh takes the first value.
remember_ssh() {
  local name="$1" address="$2" dir="$3" config="$HOME/.ssh/config"
  mkdir -p "$HOME/.ssh" && chmod 700 "$HOME/.ssh" && touch "$config" && chmod 600 "$config"
  forget_ssh "$name"
  printf '%s %s\n' "$address" "$(cut -d' ' -f1-2 "$dir/ssh_host_ed25519_key.pub")" >"$dir/known_hosts"
  {
    printf '# >>> %s %s (scripts/remote.sh; remote:down removes it)\n' "$SSH_MARK" "$name"
    printf 'Host %s\n  User root\n  IdentityFile %s\n  IdentitiesOnly yes\n' "$address" "$dir/id_ed25519"
    printf '  UserKnownHostsFile %s\n  StrictHostKeyChecking yes\n  BatchMode yes\n  ConnectTimeout 5\n' "$dir/known_hosts"
    printf '# <<< %s %s\n' "$SSH_MARK" "$name"
    cat "$config"
  } >"$config.new"
  chmod 600 "$config.new"
  mv "$config.new" "$config"
}

start_machine() {
  local name="$1" dir
  dir="$(key_dir "$name")"
  if [ "$(local_docker inspect -f '{{.State.Running}}' "$name" 2>/dev/null)" = "true" ] && [ -f "$dir/id_ed25519" ]; then
    fb_log "$name is already running; reusing it"
    return 0
  fi
  local_docker rm -f -v "$name" >/dev/null 2>&1 || true
  rm -rf "$dir" && mkdir -p "$dir/stage/root/.ssh" "$dir/stage/etc/ssh"
  ssh-keygen -q -t ed25519 -N "" -C "flask-bridge@$name" -f "$dir/id_ed25519"
  ssh-keygen -q -t ed25519 -N "" -C "$name" -f "$dir/ssh_host_ed25519_key"
  cp "$dir/id_ed25519.pub" "$dir/stage/root/.ssh/authorized_keys"
  cp "$dir/ssh_host_ed25519_key" "$dir/ssh_host_ed25519_key.pub" "$dir/stage/etc/ssh/"
  chmod 700 "$dir/stage/root/.ssh"
  chmod 600 "$dir/stage/root/.ssh/authorized_keys" "$dir/stage/etc/ssh/ssh_host_ed25519_key"
  # Like the Swarm workers (scripts/cluster.sh): capabilities one by one, an
  # anonymous volume for the inner engine, its cgroups under /<name>.
  local_docker create --name "$name" --hostname "$name" \
    --label flask-bridge.project=flask-bridge --label "flask-bridge.remote=$name" \
    --cap-add SYS_ADMIN --cap-add NET_ADMIN --cap-add MKNOD --cap-add NET_RAW \
    --cap-add SYS_PTRACE --cap-add SYS_MODULE \
    --security-opt seccomp=unconfined --security-opt apparmor=unconfined \
    -v /var/lib/docker -v /sys/fs/cgroup:/sys/fs/cgroup:rw \
    "$IMAGE" "--cgroup-parent=/$name" >/dev/null
  tar -C "$dir/stage" --owner=0 --group=0 --numeric-owner -c root/.ssh etc/ssh | local_docker cp - "$name:/"
  rm -rf "$dir/stage"
  local_docker start "$name" >/dev/null
}

wait_ready() {
  local name="$1" address
  fb_wait_for 60 "dockerd answering in $name" local_docker exec "$name" docker info
  address="$(address_of "$name")"
  [ -n "$address" ] || fb_die "$name has no address on the default bridge"
  remember_ssh "$name" "$address" "$(key_dir "$name")"
  fb_wait_for 30 "ssh root@$address answering" ssh "root@$address" true
  fb_wait_for 30 "docker over ssh://root@$address answering" env DOCKER_HOST="ssh://root@$address" docker info
}

up() {
  local name start=$SECONDS
  name="$(name_of "${1:-}")"
  # The machine lives on this machine's engine, whatever DOCKER_HOST names.
  fb_step "this machine's engine and base image (setup)" \
    env -u DOCKER_CONTEXT DOCKER_HOST=unix:///var/run/docker.sock bash "$FB_REPO_ROOT/scripts/setup.sh" >&2
  # shellcheck source=env.sh
  source "$FB_REPO_ROOT/scripts/env.sh"
  fb_step "ssh and openssl on this machine" ensure_packages
  fb_step "machine image $IMAGE (apt-get install docker.io openssh-server on the first run)" build_image
  fb_step "machine $name (sshd and dockerd in a container)" start_machine "$name"
  fb_step "dockerd and sshd on $name answering" wait_ready "$name"
  local address
  address="$(address_of "$name")"
  fb_log "remote machine $name up in $((SECONDS - start))s at $address: export the line below"
  echo "DOCKER_HOST=ssh://root@$address"
}

tls() {
  local dir="${1:-}" name address old
  name="$(name_of "${2:-}")"
  [ -n "$dir" ] && [ -f "$dir/ca.pem" ] && [ -f "$dir/server-cert.pem" ] && [ -f "$dir/server-key.pem" ] ||
    fb_die "usage: scripts/remote.sh tls DIR [NAME]; DIR holds ca.pem, server-cert.pem and server-key.pem"
  [ -n "$(machines "$name")" ] || fb_die "no remote machine $name; run: npm run remote:up"
  old="$(address_of "$name")"
  local stage
  stage="$(mktemp -d)"
  mkdir -p "$stage/etc/docker/tls"
  cp "$dir/ca.pem" "$dir/server-cert.pem" "$dir/server-key.pem" "$stage/etc/docker/tls/"
  tar -C "$stage" --owner=0 --group=0 --numeric-owner -c etc/docker/tls | local_docker cp - "$name:/"
  rm -rf "$stage"
  # dockerd reads its listeners only at start.
  fb_step "restart $name's dockerd with tcp://0.0.0.0:2376 (TLS)" local_docker restart -t 5 "$name" >/dev/null
  fb_step "dockerd and sshd on $name answering" wait_ready "$name"
  address="$(address_of "$name")"
  [ "$address" = "$old" ] || fb_log "NOTE: $name's address changed from $old to $address"
  echo "DOCKER_HOST=tcp://$address:2376"
}

down() {
  local name start=$SECONDS id
  name="$(name_of "${1:-}")"
  for id in $(machines "$name"); do
    fb_log "removing remote machine $name ($id)"
    # -v: its anonymous /var/lib/docker volume (the inner engine's images and containers) goes with it.
    local_docker rm -f -v "$id" >/dev/null
  done
  # The inner engine's cgroups, deepest first; only empty directories go.
  find /sys/fs/cgroup -mindepth 1 -maxdepth 2 -type d -name "$name" 2>/dev/null |
    while read -r dir; do find "$dir" -depth -type d -exec rmdir {} + 2>/dev/null || true; done
  forget_ssh "$name"
  rm -rf "$(key_dir "$name")"
  fb_log "remote machine $name down in $((SECONDS - start))s"
}

case "${1:-}" in
  up) up "${2:-}" ;;
  down) down "${2:-}" ;;
  tls) tls "${2:-}" "${3:-}" ;;
  address) address_of "$(name_of "${2:-}")" ;;
  *) fb_die "usage: scripts/remote.sh up|down|address [NAME] | tls DIR [NAME]" ;;
esac
