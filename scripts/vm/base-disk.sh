#!/usr/bin/env bash
# fbvm_base_disk: makes sure the VMs' base disk exists and sets FBVM_BASE to
# its directory. Sourced by scripts/vm/cluster.sh, never run.
#
# The disk is built from Debian's packages only: debootstrap a minimal bookworm
# with docker.io, openssh-server and ipvsadm, Debian's own kernel (6.1, which
# has IPVS, unlike this machine's), a tiny busybox initramfs (Debian's kernel has
# virtio_blk and ext4 as modules), and the stand-in base image
# flask-bridge/debian-python:bookworm loaded into its dockerd, so an app build
# on the VMs pulls nothing. Setup's registry image (registry:2, else its
# stand-in flask-bridge/registry:bookworm) comes too: in swarm mode the
# program runs the swarm's own registry on the manager, which cannot pull it
# offline; the other VMs pull the app from that registry through the mesh.
#
# The VMs' registry image already holds the base image's layers, and each VM
# pulled the base from it once while the disk was built: on the emulated CPUs a
# first push of the 200 MB app took ~9 min and each worker's pull 6+ min. With
# the seed, Docker cross-mounts the base layers into the app's repository
# ("Mounted from") and the workers skip them (the digests are known and the
# layers present), so only the app's own layer travels, as on a team's
# registry that already holds its base. The seed is pushed here, natively.
#
# It is cached under $FLASK_BRIDGE_HOME/vm/base-<hash>; the hash covers this file,
# scripts/vm/guest/, the kernel package and both images' IDs, so a change to any
# of them builds a new disk (about 4 minutes) and a rerun reuses it.

# shellcheck shell=bash
# shellcheck source=../lib/base-image.sh
source "$FB_REPO_ROOT/scripts/lib/base-image.sh"
FBVM_GUEST_DIR="$FB_REPO_ROOT/scripts/vm/guest"
FBVM_BASE_IMAGE="${FLASK_BRIDGE_BASE_IMAGE:-flask-bridge/debian-python:bookworm}"
FBVM_DISK_SIZE=4G
# The seeded registry image while the disk is built, and the loopback port of
# the registry that seeds it here (below 32768: above it a client socket can take it).
FBVM_SEEDED_REGISTRY="flask-bridge/registry-seeded:bookworm"
FBVM_SEED_PORT=18995

# Docker on this machine, even when DOCKER_HOST points at a VM.
fbvm_local_docker() { env -u DOCKER_HOST -u DOCKER_CONTEXT docker "$@"; }

# The one kernel package linux-image-amd64 depends on (a glob would fetch every version).
fbvm_kernel_package() {
  apt-cache depends linux-image-amd64 2>/dev/null | awk '$1 == "Depends:" && $2 ~ /^linux-image-[0-9]/ { print $2; exit }'
}

# The registry image setup left in this machine's engine: the official one, else the stand-in.
fbvm_registry_image() {
  local image
  for image in "$FB_REGISTRY_IMAGE" "$FB_REGISTRY_STANDIN"; do
    fbvm_local_docker image inspect "$image" >/dev/null 2>&1 && { echo "$image"; return 0; }
  done
  return 1
}

fbvm_base_disk() {
  local kpkg image_id registry_id hash
  kpkg="$(fbvm_kernel_package)"
  if [ -z "$kpkg" ]; then
    apt-get update -qq >/dev/null 2>&1 || true
    kpkg="$(fbvm_kernel_package)"
  fi
  [ -n "$kpkg" ] || fb_die "apt knows no linux-image-amd64 kernel package (apt-get update failed?)"
  image_id="$(fbvm_local_docker image inspect -f '{{.Id}}' "$FBVM_BASE_IMAGE" 2>/dev/null)" ||
    fb_die "the base image $FBVM_BASE_IMAGE is not in this machine's engine; run npm run setup"
  FBVM_REGISTRY_IMAGE="$(fbvm_registry_image)" ||
    fb_die "neither $FB_REGISTRY_IMAGE nor $FB_REGISTRY_STANDIN is in this machine's engine; run npm run setup"
  registry_id="$(fbvm_local_docker image inspect -f '{{.Id}}' "$FBVM_REGISTRY_IMAGE")"
  hash="$(cat "${BASH_SOURCE[0]}" "$FBVM_GUEST_DIR"/* | cat - <(echo "$kpkg $image_id $registry_id") | sha256sum | cut -c1-12)"
  FBVM_BASE="$FLASK_BRIDGE_HOME/vm/base-$hash"
  if [ -f "$FBVM_BASE/done" ]; then
    fb_log "VM base disk $hash (cached)"
    return 0
  fi
  local start=$SECONDS
  fb_log "==> VM base disk $hash: Debian bookworm, $kpkg, docker.io, $FBVM_BASE_IMAGE, $FBVM_REGISTRY_IMAGE; about 4 min, once"
  local work="$FLASK_BRIDGE_HOME/vm/build-$hash"
  rm -rf "$work"
  mkdir -p "$work"
  # Steps, not `|| return 1`: that would switch set -e off inside them (lib/common.sh).
  fb_step "root filesystem, kernel $kpkg and ssh keys" fbvm_build_rootfs "$work" "$kpkg"
  fb_step "initramfs" fbvm_build_initrd "$work"
  fb_step "registry image seeded with $FBVM_BASE_IMAGE (pushed here)" fbvm_build_seeded_registry "$work"
  fb_step "base disk image (ext4, $FBVM_DISK_SIZE sparse) with the seeded registry image to load" fbvm_build_image "$work"
  fb_step "first boot: load the registry, pull $FBVM_BASE_IMAGE from it, power off (about 3-4 min under emulation)" fbvm_provision "$work"
  rm -rf "$work/rootfs" "$work/kernel-pkg" "$work/initrd.d"
  touch "$work/done"
  # Older disks are unused now (a running cluster was started on this very disk or is down).
  local old
  for old in "$FLASK_BRIDGE_HOME"/vm/base-*; do
    [ "$old" = "$FBVM_BASE" ] || rm -rf "$old"
  done
  mv "$work" "$FBVM_BASE"
  fb_log "<== VM base disk built in $((SECONDS - start))s: $(du -sh --apparent-size "$FBVM_BASE/disk.raw" | cut -f1) sparse, $(du -sh "$FBVM_BASE/disk.raw" | cut -f1) used"
}

fbvm_build_rootfs() {
  local work="$1" kpkg="$2" mirror rootfs="$1/rootfs" log="$FB_LOG_DIR/vm-debootstrap.log"
  mirror="$(fb_debian_mirror bookworm)" || return 1
  local t0=$SECONDS
  fb_log "    debootstrap bookworm minbase + docker.io, openssh-server, ipvsadm (log: $log)"
  # The log gets the mirror's host masked.
  debootstrap --variant=minbase \
    --include=systemd-sysv,udev,kmod,iproute2,iptables,docker.io,openssh-server,ca-certificates,ipvsadm,busybox-static,procps,netbase,jq \
    bookworm "$rootfs" "$mirror" 2>&1 | sed -E 's#([a-z]+://)[^/[:space:]]+#\1<mirror>#g' >"$log" ||
    {
      fb_log "ERROR: debootstrap failed; see $log"
      return 1
    }
  fb_log "    rootfs in $((SECONDS - t0))s"
  rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/*

  t0=$SECONDS
  (cd "$work" && apt-get download -qq "$kpkg" >/dev/null 2>&1) || {
    fb_log "ERROR: apt-get download $kpkg failed"
    return 1
  }
  dpkg-deb -x "$work/${kpkg}"_*.deb "$work/kernel-pkg"
  rm -f "$work/${kpkg}"_*.deb
  local kver
  kver="$(basename "$(ls -d "$work"/kernel-pkg/lib/modules/*)")"
  cp "$work/kernel-pkg/boot/vmlinuz-$kver" "$work/vmlinuz"
  # Modules without the driver trees no VM here uses.
  mkdir -p "$rootfs/lib/modules"
  local skip=(sound drivers/gpu drivers/media drivers/net/wireless drivers/infiniband drivers/staging
    drivers/net/ethernet drivers/iio drivers/bluetooth drivers/usb drivers/scsi drivers/hid drivers/input
    drivers/isdn net/bluetooth net/wireless net/mac80211) excludes=() s
  for s in "${skip[@]}"; do excludes+=("--exclude=$kver/kernel/$s"); done
  tar -c -C "$work/kernel-pkg/lib/modules" "${excludes[@]}" "$kver" | tar -x -C "$rootfs/lib/modules"
  chroot "$rootfs" depmod -a "$kver"
  echo "$kver" >"$work/kernel-version"
  fb_log "    kernel $kver in $((SECONDS - t0))s"

  # ssh: a client key for this machine, one host key for every VM (trusted by
  # the known_hosts file written beside it).
  ssh-keygen -q -t ed25519 -N '' -C flask-bridge-vm -f "$work/id_ed25519"
  rm -f "$rootfs"/etc/ssh/ssh_host_*
  ssh-keygen -q -t ed25519 -N '' -C flask-bridge-vm -f "$rootfs/etc/ssh/ssh_host_ed25519_key"
  echo "10.213.200.* $(cut -d' ' -f1,2 "$rootfs/etc/ssh/ssh_host_ed25519_key.pub")" >"$work/known_hosts"
  install -d -m 700 "$rootfs/root/.ssh"
  install -m 600 "$work/id_ed25519.pub" "$rootfs/root/.ssh/authorized_keys"
  { cat "$FBVM_GUEST_DIR/sshd.conf"; echo "HostKey /etc/ssh/ssh_host_ed25519_key"; } >"$rootfs/etc/ssh/sshd_config.d/fbvm.conf"

  echo '/dev/vda / ext4 rw,noatime,discard 0 1' >"$rootfs/etc/fstab"
  : >"$rootfs/etc/resolv.conf"
  echo fbvm >"$rootfs/etc/hostname"
  # Every boot makes its own machine ID.
  : >"$rootfs/etc/machine-id"
  rm -f "$rootfs/var/lib/dbus/machine-id"
  install -m 755 "$FBVM_GUEST_DIR/fbvm-network" "$FBVM_GUEST_DIR/fbvm-provision" "$rootfs/usr/local/sbin/"
  install -m 644 "$FBVM_GUEST_DIR/fbvm-network.service" "$FBVM_GUEST_DIR/fbvm-provision.service" "$rootfs/etc/systemd/system/"
  install -d "$rootfs/etc/docker"
  install -m 644 "$FBVM_GUEST_DIR/daemon.json" "$rootfs/etc/docker/daemon.json"
  chroot "$rootfs" systemctl enable -q systemd-networkd fbvm-network.service
  ln -sf /etc/systemd/system/fbvm-provision.service "$rootfs/etc/systemd/system/multi-user.target.wants/fbvm-provision.service"
  # wait-online would hold dockerd back for 2 min on a slow link; one link will do.
  install -d "$rootfs/etc/systemd/system/systemd-networkd-wait-online.service.d"
  printf '[Service]\nExecStart=\nExecStart=/lib/systemd/systemd-networkd-wait-online --any --timeout=20\n' \
    >"$rootfs/etc/systemd/system/systemd-networkd-wait-online.service.d/any.conf"
  chroot "$rootfs" systemctl disable -q apt-daily.timer apt-daily-upgrade.timer e2scrub_all.timer fstrim.timer 2>/dev/null || true
  chroot "$rootfs" systemctl mask -q systemd-timesyncd.service 2>/dev/null || true
}

fbvm_build_initrd() {
  # Loads virtio and ext4, mounts /dev/vda, switches root.
  local work="$1" d="$1/initrd.d" kver m b
  kver="$(cat "$work/kernel-version")"
  mkdir -p "$d"/{bin,dev,proc,sys,newroot,mods}
  cp "$work/rootfs/bin/busybox" "$d/bin/busybox"
  : >"$d/mods/order"
  while read -r m; do
    b="$(basename "$m")"
    grep -qx "$b" "$d/mods/order" || {
      cp "$work/rootfs$m" "$d/mods/$b"
      echo "$b" >>"$d/mods/order"
    }
  done < <(chroot "$work/rootfs" modprobe -a -S "$kver" --show-depends virtio_pci virtio_blk ext4 | awk '$1 == "insmod" { print $2 }')
  cat >"$d/init" <<'EOF'
#!/bin/busybox sh
/bin/busybox --install -s /bin
mount -t proc proc /proc; mount -t sysfs sys /sys; mount -t devtmpfs dev /dev
for m in $(cat /mods/order); do insmod /mods/$m 2>/dev/null; done
i=0; while [ ! -b /dev/vda ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i+1)); done
mount -t ext4 -o rw,noatime,discard /dev/vda /newroot || { echo "initrd: cannot mount /dev/vda"; exec sh; }
umount /proc /sys; mount --move /dev /newroot/dev 2>/dev/null || umount /dev
exec switch_root /newroot /sbin/init
EOF
  chmod +x "$d/init"
  (cd "$d" && find . | cpio -o -H newc 2>/dev/null | gzip -1) >"$work/initrd.img"
}

# The registry image the VMs get: setup's, with the base image pushed into its
# storage by a registry of the same image running here.
fbvm_build_seeded_registry() {
  local work="$1" name="fbvm-seed" seed="127.0.0.1:$FBVM_SEED_PORT/$FBVM_BASE_IMAGE"
  fbvm_local_docker rm -f "$name" >/dev/null 2>&1 || true
  fbvm_local_docker run -d --name "$name" -p "127.0.0.1:$FBVM_SEED_PORT:5000" "$FBVM_REGISTRY_IMAGE" >/dev/null
  fb_wait_for 30 "the seeding registry on 127.0.0.1:$FBVM_SEED_PORT" \
    bash -c "exec 3<>/dev/tcp/127.0.0.1/$FBVM_SEED_PORT" || return 1
  fbvm_local_docker tag "$FBVM_BASE_IMAGE" "$seed"
  fbvm_local_docker push -q "$seed" >/dev/null
  fbvm_local_docker rmi "$seed" >/dev/null
  mkdir -p "$work/seed"
  fbvm_local_docker cp "$name:/var/lib/registry" "$work/seed/registry"
  fbvm_local_docker rm -f "$name" >/dev/null
  printf 'FROM %s\nCOPY registry/ /var/lib/registry/\n' "$FBVM_REGISTRY_IMAGE" >"$work/seed/Dockerfile"
  # The legacy builder's notice and any error go to a log, said only on failure.
  local log="$FB_LOG_DIR/vm-seed-registry.log"
  fbvm_local_docker build -q -t "$FBVM_SEEDED_REGISTRY" "$work/seed" >/dev/null 2>"$log" || {
    fb_log "ERROR: building $FBVM_SEEDED_REGISTRY failed; last lines of $log:"
    tail -n 20 "$log" >&2
    return 1
  }
  rm -rf "$work/seed"
}

fbvm_build_image() {
  local work="$1"
  # The seeded registry is built FROM setup's, itself FROM the base: one image holds all three.
  fbvm_local_docker save "$FBVM_SEEDED_REGISTRY" -o "$work/rootfs/var/tmp/fbvm-load.tar"
  fbvm_local_docker rmi "$FBVM_SEEDED_REGISTRY" >/dev/null
  printf 'REGISTRY_IMAGE=%s\nSEEDED=%s\nBASE_IMAGE=%s\n' "$FBVM_REGISTRY_IMAGE" "$FBVM_SEEDED_REGISTRY" "$FBVM_BASE_IMAGE" \
    >"$work/rootfs/var/tmp/fbvm-load.env"
  mkfs.ext4 -q -F -L fbvm-root -d "$work/rootfs" "$work/disk.raw" "$FBVM_DISK_SIZE" >/dev/null
}

# Boots the raw disk itself once, with no network: fbvm-provision.service loads
# the images and powers off, and the console says how it went.
fbvm_provision() {
  local work="$1" console="$FB_LOG_DIR/vm-provision.console"
  : >"$console"
  timeout 900 qemu-system-x86_64 -name fbvm-provision -accel tcg,thread=multi,tb-size=256 -cpu max -smp 2 -m 1536 \
    -no-reboot -kernel "$work/vmlinuz" -initrd "$work/initrd.img" \
    -append "root=/dev/vda rw console=ttyS0 panic=-1 quiet apparmor=0 fbvm.host=fbvm-provision" \
    -drive "file=$work/disk.raw,format=raw,if=virtio,cache=unsafe,discard=unmap" \
    -nic none -serial "file:$console" -monitor none -display none </dev/null >/dev/null 2>&1 || true
  grep -q FBVM-PROVISIONED "$console" || {
    fb_log "ERROR: the base disk's first boot did not load the registry and pull $FBVM_BASE_IMAGE from it; console: $console"
    return 1
  }
}
