#!/usr/bin/env bash
# fb_ensure_docker: make sure a Docker engine answers `docker info`.
# Sourced, never run; needs lib/common.sh (fb_log, FB_LOG_DIR).
#
# No engine runs on these machines at first, and nothing the session started
# survives into CI, so this installs Debian's docker.io (dockerd 20.10, API
# 1.41) when dockerd is missing and starts it in the background. The client
# in /usr/local/bin is v28 (API 1.50): it negotiates down to 1.41 by itself,
# so DOCKER_API_VERSION must stay unset.
#
# FB_DOCKERD_TIMEOUT (seconds, default 60) bounds the wait for the daemon.

# shellcheck shell=bash
fb_ensure_docker() {
  local log="$FB_LOG_DIR/dockerd.log" timeout="${FB_DOCKERD_TIMEOUT:-60}"

  if timeout 10 docker info >/dev/null 2>&1; then
    fb_log "Docker engine already answering"
  else
    # --- install ---------------------------------------------------------
    if ! command -v dockerd >/dev/null 2>&1 && [ ! -x /usr/sbin/dockerd ]; then
      local apt_log="$FB_LOG_DIR/apt-docker.io.log" t0=$SECONDS out rc=0
      local -a apt=(env DEBIAN_FRONTEND=noninteractive apt-get -y -q -o DPkg::Lock::Timeout=120)
      fb_log "dockerd not found: installing Debian's docker.io (log: $apt_log)"
      # Refresh the package lists only when apt does not know docker.io yet,
      # or when the install fails (stale lists point at files long gone).
      if ! apt-cache policy docker.io 2>/dev/null | grep -q 'Candidate: [0-9]'; then
        fb_log "    apt-get update (docker.io not in the package lists)"
        out="$("${apt[@]}" update 2>&1)"$'\n'
      fi
      if ! out+="$("${apt[@]}" install --no-install-recommends docker.io 2>&1)"; then
        fb_log "    install failed; apt-get update and one retry"
        out+=$'\n'"$("${apt[@]}" update 2>&1 && "${apt[@]}" install --no-install-recommends docker.io 2>&1)" || rc=1
      fi
      # The log gets the mirror's host masked.
      printf '%s\n' "$out" | sed -E 's#([a-z]+://)[^/[:space:]]+#\1<mirror>#g' >>"$apt_log"
      if [ "$rc" -ne 0 ] || { ! command -v dockerd >/dev/null 2>&1 && [ ! -x /usr/sbin/dockerd ]; }; then
        fb_log "ERROR: could not install docker.io; last lines of $apt_log:"
        tail -n 15 "$apt_log" >&2
        return 1
      fi
      fb_log "    docker.io installed in $((SECONDS - t0))s"
    fi

    # --- start -----------------------------------------------------------
    # /run is on disk here, so a pid file can outlive its daemon (a machine is
    # handed on with its processes ended). dockerd refuses to start while the
    # pid in it belongs to any live process, so drop it unless that is dockerd.
    local pid="" daemon_pid="" log_from=0
    [ -f /run/docker.pid ] && pid="$(cat /run/docker.pid 2>/dev/null)"
    if [ -n "$pid" ] && [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = "dockerd" ]; then
      fb_log "dockerd (pid $pid) is running but not answering yet; waiting for it"
    else
      [ -n "$pid" ] && rm -f /run/docker.pid
      # dockerd programs NAT and filter rules with whatever `iptables` is on
      # PATH (Debian: the nft flavour). Where the kernel lacks nf_tables but
      # has the legacy tables, point dockerd alone at iptables-legacy through
      # a PATH shim (system alternatives stay untouched). With neither, run
      # without iptables: containers on a bridge then get no outbound NAT, but
      # ports published on 127.0.0.1 still answer through docker-proxy (seen
      # working). On this machine kind the nft flavour works and dockerd
      # needs no flags; it turns on net.ipv4.ip_forward itself.
      local -a flags=()
      local env_path="$PATH"
      if ! iptables -t nat -S >/dev/null 2>&1; then
        if command -v iptables-legacy >/dev/null 2>&1 && iptables-legacy -t nat -S >/dev/null 2>&1; then
          local shim="$FLASK_BRIDGE_HOME/dockerd-path"
          mkdir -p "$shim"
          local t
          for t in iptables iptables-save iptables-restore ip6tables ip6tables-save ip6tables-restore; do
            command -v "$t-legacy" >/dev/null 2>&1 && ln -sfn "$(command -v "$t-legacy")" "$shim/$t"
          done
          env_path="$shim:$PATH"
          fb_log "iptables (nft) unusable here; dockerd will use iptables-legacy"
        else
          flags+=(--iptables=false)
          fb_log "no usable iptables; starting dockerd with --iptables=false"
        fi
      fi
      local dockerd_bin
      dockerd_bin="$(command -v dockerd || echo /usr/sbin/dockerd)"
      fb_log "starting dockerd ${flags[*]} (log: $log)"
      log_from="$(stat -c %s "$log" 2>/dev/null || echo 0)"
      printf '\n=== %s: %s %s\n' "$(date -Is)" "$dockerd_bin" "${flags[*]}" >>"$log"
      # setsid + nohup: its own session, so it outlives this script and its
      # terminal. -w keeps $! alive exactly as long as dockerd, even when
      # setsid has to fork (job control on), so an early death is seen at
      # once. dockerd starts its own containerd. Its log goes through sed to
      # mask host names (a failed pull logs the registry's).
      local mask='s#([a-z]+://)[^/[:space:]"]+#\1<host>#g; s#lookup [^ ]+ on [^ ]+:#lookup <host>:#g'
      # shellcheck disable=SC2016 # $0, $@ and $FB_SED_MASK are for sh -c
      FB_SED_MASK="$mask" PATH="$env_path" setsid -w nohup \
        sh -c 'exec "$0" "$@" 2>&1 | sed -u -E "$FB_SED_MASK"' "$dockerd_bin" "${flags[@]}" \
        >>"$log" 2>&1 </dev/null &
      daemon_pid=$!
      disown 2>/dev/null || true
    fi

    # --- wait ------------------------------------------------------------
    local t1=$SECONDS next=5
    until timeout 5 docker info >/dev/null 2>&1; do
      local why=""
      if [ -n "$daemon_pid" ] && ! kill -0 "$daemon_pid" 2>/dev/null; then
        why="dockerd exited after $((SECONDS - t1))s"
      elif [ $((SECONDS - t1)) -ge "$timeout" ]; then
        why="the Docker engine did not answer within ${timeout}s"
      fi
      if [ -n "$why" ]; then
        fb_log "ERROR: $why."
        fb_log "       dockerd log: $log -- last lines of this start:"
        tail -c +"$((log_from + 1))" "$log" | tail -n 25 >&2
        return 1
      fi
      if [ $((SECONDS - t1)) -ge "$next" ]; then
        fb_log "    ... waiting for dockerd ($((SECONDS - t1))s)"
        next=$((next + 5))
      fi
      sleep 0.5
    done
    fb_log "Docker engine answering after $((SECONDS - t1))s"
  fi

  fb_log "    $(docker version --format 'client {{.Client.Version}} (API {{.Client.APIVersion}}), server {{.Server.Version}} (API {{.Server.APIVersion}})' 2>&1)"
}
