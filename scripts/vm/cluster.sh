#!/usr/bin/env bash
# A Docker Swarm of 3 QEMU VMs (manager + 2 workers), each with Debian's own
# kernel, so Swarm's defaults (service VIPs and the ingress routing mesh, both
# IPVS) work as on real machines. Run through scripts/cluster.sh with
# FLASK_BRIDGE_CLUSTER=vm:
#   up              builds the base disk once (scripts/vm/base-disk.sh), boots the
#                   VMs, forms the swarm; the last stdout line is DOCKER_HOST=ssh://…
#   down            stops the VMs and removes their disks, taps, bridge and ssh config
# To the program it is a plain swarm: every VM has the base image and setup's
# registry image from the base disk; in swarm mode the program runs its own
# registry on the manager, published through the routing mesh, and every VM
# pulls the app from its own 127.0.0.1:5000 (Docker trusts loopback without TLS).
#
# Network: a bridge of the project's own, fbvm0 (10.213.200.1/24), with one tap
# per VM, so each VM has its own address that this machine reaches directly:
# ssh, the Docker API over ssh and every published port, on every node, with no
# forwards to keep in step with the stack's ports. VM to VM traffic (swarm
# control, VXLAN overlay, ingress) crosses the same bridge.
# Emulation: TCG (nested KVM hangs here); tb-size trims QEMU's 1 GiB default
# translation cache per VM.
set -euo pipefail
# shellcheck source=../lib/common.sh
source "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/../lib/common.sh"
# shellcheck source=base-disk.sh
source "$FB_REPO_ROOT/scripts/vm/base-disk.sh"

VM_DIR="$FLASK_BRIDGE_HOME/vm"
RUN_DIR="$VM_DIR/run"
CLUSTER_ENV="$RUN_DIR/cluster.env"
# System-wide (Debian's ssh_config includes ssh_config.d/*.conf): ssh, docker and
# the docker provider all find it, and ~/.ssh/config stays the user's.
SSH_CONFIG=/etc/ssh/ssh_config.d/flask-bridge-vm.conf
BRIDGE=fbvm0
NET_PREFIX=10.213.200
NODES="${FLASK_BRIDGE_VM_NODES:-3}"
VM_MEMORY_MB="${FLASK_BRIDGE_VM_MEMORY_MB:-1024}"
IPT_COMMENT="flask-bridge.cluster=vm"

vm_name() { echo "fbvm-$1"; }
vm_addr() { echo "$NET_PREFIX.$((10 + $1))"; }
vssh() {
  local n="$1"
  shift
  ssh "$(vm_addr "$n")" "$@"
}

install_packages() {
  local missing=() pair
  for pair in qemu-system-x86_64:qemu-system-x86 qemu-img:qemu-utils debootstrap:debootstrap cpio:cpio \
    mkfs.ext4:e2fsprogs ssh:openssh-client ip:iproute2 iptables:iptables; do
    command -v "${pair%%:*}" >/dev/null 2>&1 || missing+=("${pair#*:}")
  done
  [ "${#missing[@]}" -eq 0 ] && return 0
  fb_log "installing ${missing[*]} (apt-get)"
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null 2>&1 ||
    { apt-get update -qq >/dev/null && apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null; } ||
    fb_die "apt-get install ${missing[*]} failed"
}

net_up() {
  if ! ip link show "$BRIDGE" >/dev/null 2>&1; then
    ip link add "$BRIDGE" type bridge
    ip addr add "$NET_PREFIX.1/24" dev "$BRIDGE"
  fi
  ip link set "$BRIDGE" up
  local n tap
  for n in $(seq "$NODES"); do
    tap="fbvm$n"
    ip link show "$tap" >/dev/null 2>&1 || ip tuntap add dev "$tap" mode tap
    ip link set "$tap" master "$BRIDGE" up
  done
  # The host engine's FORWARD policy is DROP, and bridged frames pass iptables
  # (br_netfilter): VM to VM traffic needs its own rule.
  iptables -C FORWARD -i "$BRIDGE" -o "$BRIDGE" -m comment --comment "$IPT_COMMENT" -j ACCEPT 2>/dev/null ||
    iptables -I FORWARD 1 -i "$BRIDGE" -o "$BRIDGE" -m comment --comment "$IPT_COMMENT" -j ACCEPT
}

net_down() {
  local tap
  while iptables -D FORWARD -i "$BRIDGE" -o "$BRIDGE" -m comment --comment "$IPT_COMMENT" -j ACCEPT 2>/dev/null; do :; done
  for tap in $(ip -o link show 2>/dev/null | awk -F': ' '{ sub(/@.*/, "", $2); print $2 }' | grep -E '^fbvm[0-9]+$' || true); do
    ip link del "$tap" 2>/dev/null || true
  done
  ip link del "$BRIDGE" 2>/dev/null || true
}

# ssh to every VM by address with the key and host key of the base disk. One
# connection per VM carries every session (docker over ssh opens one per API
# connection, each running `docker system dial-stdio` in the VM). %C hashes
# user, host and port, so another port of a VM is never served by this connection.
ssh_config_up() {
  grep -qs '^Include /etc/ssh/ssh_config.d/\*.conf' /etc/ssh/ssh_config ||
    fb_die "/etc/ssh/ssh_config does not include /etc/ssh/ssh_config.d/*.conf, where the VMs' ssh settings go"
  cat >"$SSH_CONFIG" <<EOF
# flask-bridge VM cluster ($FLASK_BRIDGE_HOME): written by scripts/vm/cluster.sh up, removed by down.
Host $NET_PREFIX.*
  User root
  IdentityFile $FBVM_BASE/id_ed25519
  IdentitiesOnly yes
  UserKnownHostsFile $FBVM_BASE/known_hosts
  StrictHostKeyChecking yes
  BatchMode yes
  LogLevel ERROR
  ConnectTimeout 5
  ServerAliveInterval 5
  ServerAliveCountMax 6
  ControlMaster auto
  ControlPath $VM_DIR/cm-%C
  ControlPersist 120
EOF
}

ssh_config_down() {
  local n
  if [ -f "$SSH_CONFIG" ]; then
    for n in $(seq "$NODES"); do
      ssh -O exit "$(vm_addr "$n")" >/dev/null 2>&1 || true
    done
  fi
  rm -f "$SSH_CONFIG" "$VM_DIR"/cm-*
}

vm_pid() {
  local pidfile pid
  pidfile="$RUN_DIR/$(vm_name "$1").pid"
  [ -f "$pidfile" ] || return 1
  pid="$(cat "$pidfile")"
  # Only a QEMU that this script started (its -name), never a reused PID.
  tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q -- "-name $(vm_name "$1") " || return 1
  echo "$pid"
}

vm_start() {
  local n="$1" name disk
  name="$(vm_name "$n")"
  vm_pid "$n" >/dev/null && return 0
  disk="$RUN_DIR/$name.qcow2"
  rm -f "$disk"
  # A copy-on-write overlay of a few MB over the shared base disk.
  qemu-img create -q -f qcow2 -F raw -b "$FBVM_BASE/disk.raw" "$disk"
  qemu-system-x86_64 -name "$name" -accel tcg,thread=multi,tb-size=256 -cpu max -smp 1 -m "$VM_MEMORY_MB" \
    -no-reboot -kernel "$FBVM_BASE/vmlinuz" -initrd "$FBVM_BASE/initrd.img" \
    -append "root=/dev/vda rw console=ttyS0 panic=-1 quiet apparmor=0 fbvm.host=$name fbvm.ip=$(vm_addr "$n")/24 fbvm.gw=$NET_PREFIX.1" \
    -drive "file=$disk,format=qcow2,if=virtio,cache=unsafe,discard=unmap" \
    -netdev "tap,id=net0,ifname=fbvm$n,script=no,downscript=no" \
    -device "virtio-net-pci,netdev=net0,mac=52:54:00:fb:c8:$(printf %02x "$((10 + n))")" \
    -serial "file:$FB_LOG_DIR/$name.console" -monitor none -display none \
    -daemonize -pidfile "$RUN_DIR/$name.pid" </dev/null >/dev/null
}

docker_ready() { vssh "$1" docker info --format '{{.ServerVersion}}'; }

vm_wait() {
  local n="$1" t0=$SECONDS
  fb_wait_for 300 "ssh to $(vm_name "$n") ($(vm_addr "$n"); console: $FB_LOG_DIR/$(vm_name "$n").console)" vssh "$n" true
  fb_wait_for 120 "dockerd answering in $(vm_name "$n")" docker_ready "$n"
  fb_log "    $(vm_name "$n") at $(vm_addr "$n"): ssh and dockerd up (waited $((SECONDS - t0))s)"
}

swarm_form() {
  local state token n pids=()
  state="$(vssh 1 docker info --format '{{.Swarm.LocalNodeState}}')"
  [ "$state" = active ] || vssh 1 docker swarm init --advertise-addr "$(vm_addr 1)" >/dev/null
  token="$(vssh 1 docker swarm join-token -q worker)"
  for n in $(seq 2 "$NODES"); do
    (
      [ "$(vssh "$n" docker info --format '{{.Swarm.LocalNodeState}}')" = active ] ||
        vssh "$n" docker swarm join --advertise-addr "$(vm_addr "$n")" --token "$token" "$(vm_addr 1):2377" >/dev/null
    ) &
    pids+=($!)
  done
  for n in "${pids[@]}"; do wait "$n"; done
  fb_wait_for 120 "$NODES Ready nodes" bash -c '[ "$(ssh "$1" docker node ls --format "{{.Status}}" | grep -c "^Ready$")" -ge "$2" ]' \
    _ "$(vm_addr 1)" "$NODES"
}

vms_start() {
  local n
  for n in $(seq "$NODES"); do vm_start "$n"; done
}

vms_wait() {
  local n pids=() failed=0
  for n in $(seq "$NODES"); do
    vm_wait "$n" &
    pids+=($!)
  done
  for n in "${pids[@]}"; do wait "$n" || failed=1; done
  return "$failed"
}

up() {
  local start=$SECONDS
  [ -e /dev/net/tun ] || fb_die "/dev/net/tun is missing: the VMs' taps need it"
  fb_step "packages (qemu-system-x86, qemu-utils, debootstrap; apt-get on the first run)" install_packages
  fbvm_base_disk
  mkdir -p "$RUN_DIR"
  fb_step "bridge $BRIDGE ($NET_PREFIX.1/24) and a tap per VM" net_up
  ssh_config_up
  fb_step "boot $NODES VMs (QEMU TCG, 1 vCPU, $VM_MEMORY_MB MiB each)" vms_start
  fb_step "wait for ssh and dockerd in every VM (about 90 s under emulation)" vms_wait
  fb_step "swarm: manager $(vm_name 1), $((NODES - 1)) workers join" swarm_form
  printf 'DOCKER_HOST=ssh://root@%s\nFBVM_NODES="%s"\n' "$(vm_addr 1)" \
    "$(for n in $(seq "$NODES"); do printf '%s ' "$(vm_addr "$n")"; done)" >"$CLUSTER_ENV"
  vssh 1 docker node ls >&2
  fb_log "cluster up in $((SECONDS - start))s: $NODES VMs, manager $(vm_addr 1)"
  echo "DOCKER_HOST=ssh://root@$(vm_addr 1)"
}

down() {
  local start=$SECONDS n pid pids=()
  ssh_config_down
  for n in $(seq "$NODES"); do
    if pid="$(vm_pid "$n")"; then
      fb_log "stopping $(vm_name "$n") (QEMU pid $pid)"
      kill "$pid"
      pids+=("$pid")
    fi
  done
  for pid in "${pids[@]}"; do
    fb_wait_for 30 "QEMU pid $pid to exit" bash -c '! kill -0 "$1"' _ "$pid" || kill -9 "$pid" 2>/dev/null || true
  done
  # The swarm and everything in it lived on these overlays.
  rm -rf "$RUN_DIR"
  net_down
  fb_log "cluster down in $((SECONDS - start))s"
}

case "${1:-}" in
  up) up ;;
  down) down ;;
  *) fb_die "usage: FLASK_BRIDGE_CLUSTER=vm scripts/cluster.sh up|down" ;;
esac
