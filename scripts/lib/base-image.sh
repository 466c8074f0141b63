#!/usr/bin/env bash
# fb_ensure_base_image IMAGE: make sure app/Dockerfile has a Python base.
# Sourced, never run; needs lib/common.sh and a running engine
# (lib/docker-engine.sh).
#
# IMAGE is the configured base (app/Dockerfile's ARG BASE_IMAGE; setup reads it
# from the stack's config, whose default is in Pulumi.yaml). When it is in the engine or can
# be pulled, it is used as is and any stale $FLASK_BRIDGE_HOME/base-image.env
# is removed.
#
# Otherwise (no registry can be reached here) a stand-in is built from
# Debian's own packages and given a name of its own,
#   flask-bridge/debian-python:bookworm
# never an official image's name: debootstrap a minimal bookworm with python3,
# pip, Flask and uWSGI from the Debian mirror apt already uses, trim it,
# and `docker import` it. Its name and a one-sentence note go to
# $FLASK_BRIDGE_HOME/base-image.env, which scripts/env.sh sources, as
# FLASK_BRIDGE_BASE_IMAGE and FLASK_BRIDGE_BASE_IMAGE_NOTE. An existing
# stand-in is reused, so a second run takes about a second.
#
# FB_DEBIAN_MIRROR overrides the mirror read from /etc/apt.
#
# With an engine elsewhere (DOCKER_HOST ssh:// or tcp://) every image goes to
# that engine: one that this machine's engine already has is copied there
# (docker save | docker load), else it is pulled there, else the stand-in is
# built here and imported there.
#
# The registry image, for the swarm's own registry (swarm mode with
# `registry` empty): the official registry:2 when the engine has it or can pull
# it; else a stand-in, flask-bridge/registry:bookworm, built FROM the base
# image above with Debian's docker-registry package (scripts/cluster/registry/,
# about 10 s), announced in the same kind of box. The program finds it by its
# label (src/machine/registryFacts.ts).

# shellcheck shell=bash
# Bump when the packages or steps below change: an existing stand-in with
# another recipe label is then rebuilt instead of reused.
FB_STANDIN_RECIPE="4"
# The same, for the registry stand-in (scripts/cluster/registry/).
FB_REGISTRY_STANDIN_RECIPE="2"
FB_REGISTRY_IMAGE="registry:2"
FB_REGISTRY_STANDIN="flask-bridge/registry:bookworm"

# The registry image is in the engine: the official one, or the stand-in at this recipe.
fb_registry_image_ready() {
  docker image inspect "$FB_REGISTRY_IMAGE" >/dev/null 2>&1 && return 0
  [ "$(docker image inspect -f '{{index .Config.Labels "flask-bridge.registry-stand-in.recipe"}}' \
    "$FB_REGISTRY_STANDIN" 2>/dev/null)" = "$FB_REGISTRY_STANDIN_RECIPE" ]
}

# fb_ensure_registry_image BASE: the official registry image, else the stand-in built FROM BASE.
fb_ensure_registry_image() {
  local base="$1" pull_out="" t0=$SECONDS
  if docker image inspect "$FB_REGISTRY_IMAGE" >/dev/null 2>&1 || fb_copy_image_to_remote "$FB_REGISTRY_IMAGE"; then
    fb_log "registry image: $FB_REGISTRY_IMAGE (present in the engine)"
    return 0
  fi
  if pull_out="$(timeout 120 docker pull "$FB_REGISTRY_IMAGE" 2>&1)"; then
    fb_log "registry image: $FB_REGISTRY_IMAGE (pulled)"
    return 0
  fi
  local why
  why="$(printf '%s\n' "$pull_out" | grep -v '^[[:space:]]*$' | tail -n 1 || true)"
  why="${why##*: }"
  {
    printf '\n'
    printf '  %s\n' "######################################################################"
    printf '  %s\n' "#  STAND-IN REGISTRY IMAGE IN USE (swarm mode's own registry)"
    printf '  %s\n' "#  The official registry image '$FB_REGISTRY_IMAGE' is not in the"
    printf '  %s\n' "#  Docker engine and could not be pulled:"
    printf '  %s\n' "#    docker pull: ${why:-failed}"
    printf '  %s\n' "#  Using '$FB_REGISTRY_STANDIN' instead: Debian's own"
    printf '  %s\n' "#  docker-registry package (the same Distribution registry) on"
    printf '  %s\n' "#  '$base'. It is NOT the official registry image."
    printf '  %s\n' "######################################################################"
    printf '\n'
  } >&2
  if fb_registry_image_ready; then
    fb_log "stand-in $FB_REGISTRY_STANDIN already in the engine; not rebuilding"
    return 0
  fi
  local old_id versions log="$FB_LOG_DIR/registry-stand-in.log"
  : >"$log"
  old_id="$(docker image inspect -f '{{.Id}}' "$FB_REGISTRY_STANDIN" 2>/dev/null || true)"
  fb_log "==> building $FB_REGISTRY_STANDIN FROM $base (apt-get install docker-registry)"
  # Two steps: the package's version goes into a label, so the build runs apt once to learn it.
  docker build -q --build-arg "BASE_IMAGE=$base" --build-arg "RECIPE=$FB_REGISTRY_STANDIN_RECIPE" \
    -t "$FB_REGISTRY_STANDIN" "$FB_REPO_ROOT/scripts/cluster/registry" >/dev/null 2>>"$log" || {
    fb_log "ERROR: building $FB_REGISTRY_STANDIN failed; last lines of $log:"
    tail -n 20 "$log" >&2
    return 1
  }
  versions="$(docker run --rm --entrypoint dpkg-query "$FB_REGISTRY_STANDIN" -W -f '${Version}' docker-registry)" || {
    fb_log "ERROR: the new $FB_REGISTRY_STANDIN has no docker-registry package"
    return 1
  }
  local first_id new_id
  first_id="$(docker image inspect -f '{{.Id}}' "$FB_REGISTRY_STANDIN")"
  docker build -q --build-arg "BASE_IMAGE=$base" --build-arg "RECIPE=$FB_REGISTRY_STANDIN_RECIPE" \
    --build-arg "VERSIONS=docker-registry $versions" \
    -t "$FB_REGISTRY_STANDIN" "$FB_REPO_ROOT/scripts/cluster/registry" >/dev/null 2>>"$log" || return 1
  new_id="$(docker image inspect -f '{{.Id}}' "$FB_REGISTRY_STANDIN")"
  # The first step's image and the one this replaces, unless a container still uses them.
  local id
  for id in "$first_id" "$old_id"; do
    if [ -n "$id" ] && [ "$id" != "$new_id" ]; then docker image rm "$id" >/dev/null 2>&1 || true; fi
  done
  fb_log "<== registry image: $FB_REGISTRY_STANDIN (stand-in, docker-registry $versions) in $((SECONDS - t0))s"
}

# Silent and offline: the configured image is in the engine, or the stand-in
# that setup recorded for it (env.sh sourced base-image.env) is, at this recipe.
fb_base_image_ready() {
  fb_registry_image_ready || return 1
  if [ ! -f "$FLASK_BRIDGE_HOME/base-image.env" ]; then
    docker image inspect "$1" >/dev/null 2>&1
    return
  fi
  [ "${FLASK_BRIDGE_BASE_IMAGE_FOR:-}" = "$1" ] &&
    [ "$(docker image inspect -f '{{index .Config.Labels "flask-bridge.stand-in.recipe"}}' \
      "$FLASK_BRIDGE_BASE_IMAGE" 2>/dev/null)" = "$FB_STANDIN_RECIPE" ]
}

# Copies IMAGE from this machine's engine to the remote one; false when this
# machine has no engine or not that image.
fb_copy_image_to_remote() {
  local image="$1" this_engine=(docker --host unix:///var/run/docker.sock) t0=$SECONDS
  fb_engine_remote || return 1
  "${this_engine[@]}" image inspect "$image" >/dev/null 2>&1 || return 1
  fb_log "copying $image from this machine's engine to $DOCKER_HOST"
  "${this_engine[@]}" save "$image" | docker load -q >/dev/null || return 1
  fb_log "    copied in $((SECONDS - t0))s"
}

fb_ensure_base_image() {
  local configured="${1:?fb_ensure_base_image needs the configured base image}"
  local standin="flask-bridge/debian-python:bookworm" suite="bookworm"
  local recipe="$FB_STANDIN_RECIPE"
  # uWSGI and its Python plugin: the app's server (app/Dockerfile), which its
  # builds could not fetch from PyPI here.
  local packages="python3,python3-pip,python3-flask,python-is-python3,uwsgi-core,uwsgi-plugin-python3"
  local env_file="$FLASK_BRIDGE_HOME/base-image.env"
  local start=$SECONDS

  case "$configured" in
    *[!A-Za-z0-9./:_@-]*) fb_log "ERROR: odd base image name: '$configured'" && return 1 ;;
  esac

  # --- the configured image, when it can be had ---------------------------
  local have="" pull_out=""
  if docker image inspect "$configured" >/dev/null 2>&1; then
    have="present in the engine"
  elif fb_copy_image_to_remote "$configured"; then
    have="copied from this machine's engine"
  else
    fb_log "base image $configured not in the engine; trying docker pull"
    if pull_out="$(timeout 120 docker pull "$configured" 2>&1)"; then
      have="pulled"
    fi
  fi
  if [ -n "$have" ]; then
    fb_log "base image: $configured ($have)"
    if [ -f "$env_file" ]; then
      fb_log "    removing stale $env_file (it named a stand-in)"
      rm -f "$env_file"
    fi
    unset FLASK_BRIDGE_BASE_IMAGE FLASK_BRIDGE_BASE_IMAGE_FOR FLASK_BRIDGE_BASE_IMAGE_NOTE
    fb_ensure_registry_image "$configured"
    return
  fi
  # The last part of docker's message ("no such host", ...); the rest names
  # the registry's host, which is kept out of logs and notes.
  local why
  why="$(printf '%s\n' "$pull_out" | grep -v '^[[:space:]]*$' | tail -n 1 || true)"
  why="${why##*: }"

  {
    printf '\n'
    printf '  %s\n' "######################################################################"
    printf '  %s\n' "#  STAND-IN BASE IMAGE IN USE"
    printf '  %s\n' "#  The configured base image '$configured' is not in the Docker"
    printf '  %s\n' "#  engine and could not be pulled:"
    printf '  %s\n' "#    docker pull: ${why:-failed}"
    printf '  %s\n' "#  Using '$standin' instead: Debian $suite's own"
    printf '  %s\n' "#  python3, Flask and uWSGI packages, imported from a debootstrap"
    printf '  %s\n' "#  root filesystem. It is NOT the official python image."
    printf '  %s\n' "######################################################################"
    printf '\n'
  } >&2

  # --- the stand-in --------------------------------------------------------
  local old_id="" old_recipe=""
  if old_id="$(docker image inspect -f '{{.Id}}' "$standin" 2>/dev/null)"; then
    old_recipe="$(docker image inspect -f '{{index .Config.Labels "flask-bridge.stand-in.recipe"}}' "$standin")"
  else
    old_id=""
  fi
  if [ "$old_recipe" != "$recipe" ] &&
    [ "$(docker --host unix:///var/run/docker.sock image inspect -f '{{index .Config.Labels "flask-bridge.stand-in.recipe"}}' "$standin" 2>/dev/null)" = "$recipe" ] &&
    fb_copy_image_to_remote "$standin"; then
    old_recipe="$recipe" old_id="$(docker image inspect -f '{{.Id}}' "$standin")"
  fi
  if [ -n "$old_id" ] && [ "$old_recipe" = "$recipe" ]; then
    fb_log "stand-in $standin already in the engine; not rebuilding"
  else
    [ -n "$old_id" ] && fb_log "stand-in $standin is from recipe '${old_recipe:-1}', not '$recipe': rebuilding"
    local build_log="$FB_LOG_DIR/base-image-debootstrap.log" t0 rc d m

    # Leftovers of an interrupted run. debootstrap mounts /proc and /sys in
    # the target; unmount before deleting, and never cross filesystems.
    for d in "$FLASK_BRIDGE_HOME"/base-image-build.*; do
      [ -d "$d" ] || continue
      for m in $(findmnt -rn -o TARGET | grep -F "$d/" | sort -r || true); do umount -l "$m" 2>/dev/null || true; done
      rm -rf --one-file-system "$d"
    done

    if ! command -v debootstrap >/dev/null 2>&1; then
      t0=$SECONDS
      fb_log "installing debootstrap (apt)"
      local apt_log="$FB_LOG_DIR/apt-debootstrap.log" out
      # apt's output goes to the log with the mirror's host masked.
      local -a apt=(env DEBIAN_FRONTEND=noninteractive apt-get -y -q -o DPkg::Lock::Timeout=120)
      if ! apt-cache policy debootstrap 2>/dev/null | grep -q 'Candidate: [0-9]'; then
        out="$("${apt[@]}" update 2>&1)" || true
        printf '%s\n' "$out" | sed -E 's#([a-z]+://)[^/[:space:]]+#\1<mirror>#g' >>"$apt_log"
      fi
      if ! out="$("${apt[@]}" install --no-install-recommends debootstrap 2>&1)"; then
        # Its failure is told below, with the log.
        out+=$'\n'"$("${apt[@]}" update 2>&1 && "${apt[@]}" install --no-install-recommends debootstrap 2>&1)" || true
      fi
      printf '%s\n' "$out" | sed -E 's#([a-z]+://)[^/[:space:]]+#\1<mirror>#g' >>"$apt_log"
      command -v debootstrap >/dev/null 2>&1 ||
        { fb_log "ERROR: could not install debootstrap; see $apt_log"; return 1; }
      fb_log "    debootstrap installed in $((SECONDS - t0))s"
    fi

    local mirror
    mirror="$(fb_debian_mirror "$suite")" || return 1

    local work rootfs
    work="$(mktemp -d "$FLASK_BRIDGE_HOME/base-image-build.XXXXXX")"
    rootfs="$work/rootfs"
    t0=$SECONDS
    fb_log "==> debootstrap $suite minbase + $packages from apt's mirror; ~2 min (log: $build_log)"
    : >"$build_log"
    # The log gets the mirror's host masked.
    (
      set -o pipefail
      debootstrap --verbose --variant=minbase \
        --include="$packages" \
        "$suite" "$rootfs" "$mirror" 2>&1 |
        sed -E 's#([a-z]+://)[^/[:space:]]+#\1<mirror>#g' >>"$build_log"
    ) &
    local bpid=$! hpid
    fb_heartbeat "$bpid" "debootstrap" &
    hpid=$!
    rc=0
    wait "$bpid" || rc=$?
    # Stop the heartbeat now rather than after its current 30 s sleep, which
    # would also hold a pipe on our stderr open. SIGPIPE, because bash prints
    # "Terminated" for a child killed by SIGTERM but stays quiet for SIGPIPE.
    pkill -PIPE -P "$hpid" 2>/dev/null || true
    wait "$hpid" 2>/dev/null || true
    if [ "$rc" -ne 0 ]; then
      fb_log "ERROR: debootstrap failed (exit $rc) after $((SECONDS - t0))s; last lines of $build_log:"
      tail -n 20 "$build_log" >&2
      for m in $(findmnt -rn -o TARGET | grep -F "$rootfs/" | sort -r || true); do umount -l "$m" 2>/dev/null || true; done
      rm -rf --one-file-system "$work"
      return 1
    fi
    fb_log "<== debootstrap done in $((SECONDS - t0))s"

    # PEP 668 marker: removed so pip may install into the image's Python,
    # as it does in the official image.
    rm -f "$rootfs"/usr/lib/python3*/EXTERNALLY-MANAGED

    local versions uwsgi_version=""
    if ! versions="$(chroot "$rootfs" python3 -c 'import platform
from importlib.metadata import version as v
print("Python %s, Flask %s" % (platform.python_version(), v("flask")))' 2>&1)" ||
      ! uwsgi_version="$(chroot "$rootfs" uwsgi --version 2>&1)"; then
      fb_log "ERROR: python3/Flask/uWSGI not usable in the new root filesystem: $versions $uwsgi_version"
      rm -rf --one-file-system "$work"
      return 1
    fi
    versions+=", uWSGI $uwsgi_version"

    # Trim what nothing at run time reads: package lists and downloaded .debs,
    # docs (keeping the copyright files), man/info pages, translations, logs,
    # caches. The .pyc files stay: with PYTHONDONTWRITEBYTECODE=1 they could
    # not be rewritten, and every start would compile again. Best effort: a
    # path a later Debian release lacks only leaves the image a little larger.
    t0=$SECONDS
    local before after
    before="$(du -sm "$rootfs" | cut -f1)"
    rm -rf "$rootfs"/var/lib/apt/lists/* "$rootfs"/var/cache/apt/*.bin \
      "$rootfs"/var/cache/apt/archives/*.deb \
      "$rootfs"/var/cache/debconf/*-old "$rootfs"/var/cache/ldconfig/aux-cache \
      "$rootfs"/usr/share/man/* "$rootfs"/usr/share/info/* \
      "$rootfs"/usr/share/lintian "$rootfs"/usr/share/linda \
      "$rootfs"/root/.cache "$rootfs"/tmp/* "$rootfs"/var/tmp/*
    find "$rootfs/usr/share/doc" -mindepth 1 -not -name copyright -not -type d -delete || true
    find "$rootfs/usr/share/doc" -mindepth 1 -type d -empty -delete || true
    find "$rootfs/usr/share/locale" -mindepth 1 -maxdepth 1 -not -name locale.alias -exec rm -rf {} + || true
    find "$rootfs/var/log" -type f -delete || true
    # Keep later `apt-get install`s in images built FROM this one as lean.
    cat >"$rootfs/etc/dpkg/dpkg.cfg.d/flask-bridge-slim" <<'EOF'
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/info/*
path-exclude /usr/share/locale/*
path-include /usr/share/locale/locale.alias
EOF
    after="$(du -sm "$rootfs" | cut -f1)"
    fb_log "    trimmed the root filesystem from ${before} MB to ${after} MB in $((SECONDS - t0))s"

    t0=$SECONDS
    fb_log "==> docker import as $standin"
    local description="Stand-in for the official python image, built by flask-bridge from Debian $suite packages (python3, python3-pip, python3-flask, uwsgi) with debootstrap; not an official image."
    if ! tar -C "$rootfs" --numeric-owner -c . | docker import \
      --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
      --change 'ENV LANG=C.UTF-8' \
      --change 'ENV PYTHONDONTWRITEBYTECODE=1' \
      --change 'ENV PYTHONUNBUFFERED=1' \
      --change "LABEL org.opencontainers.image.description=\"$description\"" \
      --change 'LABEL flask-bridge.stand-in=true' \
      --change "LABEL flask-bridge.stand-in.name=$standin" \
      --change "LABEL flask-bridge.stand-in.recipe=$recipe" \
      --change "LABEL flask-bridge.stand-in.versions=\"$versions\"" \
      --change 'CMD ["python3"]' \
      --message "flask-bridge stand-in from Debian $suite packages" \
      - "$standin" >/dev/null; then
      fb_log "ERROR: docker import failed"
      rm -rf --one-file-system "$work"
      return 1
    fi
    rm -rf --one-file-system "$work"
    fb_log "<== imported in $((SECONDS - t0))s ($(docker image inspect -f '{{.Size}}' "$standin" | awk '{printf "%d MB", $1 / 1000000}'))"

    local out
    if ! out="$(docker run --rm "$standin" sh -c 'python -c "import flask" && uwsgi --plugin python3 --version' 2>&1)"; then
      fb_log "ERROR: the new stand-in lacks flask or uWSGI: $out"
      docker image rm "$standin" >/dev/null 2>&1
      return 1
    fi
    # The image it replaces, unless a container still uses it.
    if [ -n "$old_id" ] && [ "$old_id" != "$(docker image inspect -f '{{.Id}}' "$standin")" ]; then
      docker image rm "$old_id" >/dev/null 2>&1 || true
    fi
  fi

  local versions_label
  versions_label="$(docker image inspect -f '{{index .Config.Labels "flask-bridge.stand-in.versions"}}' "$standin" 2>/dev/null)"
  export FLASK_BRIDGE_BASE_IMAGE="$standin"
  # The program substitutes the stand-in only for this image (src/plan/config.ts).
  export FLASK_BRIDGE_BASE_IMAGE_FOR="$configured"
  export FLASK_BRIDGE_BASE_IMAGE_NOTE="Configured base image $configured could not be pulled, so the stand-in $standin built from Debian $suite packages${versions_label:+ ($versions_label)} is used instead."
  {
    printf '# Written by scripts/lib/base-image.sh on %s: the configured base image\n' "$(date -Is)"
    printf '# could not be had; removed again once it can.\n'
    printf 'export FLASK_BRIDGE_BASE_IMAGE=%s\n' "$FLASK_BRIDGE_BASE_IMAGE"
    printf 'export FLASK_BRIDGE_BASE_IMAGE_FOR=%s\n' "$FLASK_BRIDGE_BASE_IMAGE_FOR"
    printf 'export FLASK_BRIDGE_BASE_IMAGE_NOTE="%s"\n' "$FLASK_BRIDGE_BASE_IMAGE_NOTE"
  } >"$env_file"
  fb_log "base image: $standin (stand-in; see $env_file) in $((SECONDS - start))s"
  fb_ensure_registry_image "$standin"
}
