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
#
# An engine elsewhere (DOCKER_HOST ssh:// or tcp://, resolved by
# scripts/env.sh, by the program's resolver, from docker:host or a context) is only asked: nothing
# is installed, started or waited for here, and one that does not answer
# fails within seconds, naming its address and the cause. Its address is first
# connected to once (fb_engine_connect: FB_CONNECT_TIMEOUT, default 3 s, and
# for ssh:// FB_GREET_TIMEOUT, default 5 s, for sshd's greeting); a failed
# connect is the verdict, and docker is not asked.

# shellcheck shell=bash

# True when the engine is not a socket on this machine: not ours to start.
fb_engine_remote() { [ -n "${DOCKER_HOST:-}" ] && [ "${DOCKER_HOST#unix://}" = "$DOCKER_HOST" ]; }

# The cause of a failed `docker version` against DOCKER_HOST, in a few words.
fb_engine_cause() {
  local out="$1" code="$2"
  case "$out" in
    *"Host key verification failed"*) echo "ssh does not trust its host key (add it to ~/.ssh/known_hosts)" ;;
    *"Permission denied"*) echo "ssh authentication failed: no key here that it accepts" ;;
    *"Could not resolve hostname"* | *"no such host"*) echo "its host name does not resolve" ;;
    *"Connection refused"* | *"connection refused"*) echo "connection refused: nothing listens there" ;;
    *"No route to host"* | *"no route to host"*) echo "no route to it" ;;
    *"docker: command not found"* | *"docker: not found"*) echo "ssh works, but that machine has no docker CLI (ssh:// runs one there)" ;;
    *"Cannot connect to the Docker daemon at tcp://"*)
      # The docker CLI hides the cause for tcp://; one bounded connect finds it.
      local hostport
      hostport="$(fb_engine_hostport)" || hostport="${DOCKER_HOST#tcp://}"
      fb_engine_connect "$hostport" || echo "$hostport accepts connections but no Docker API answered"
      ;;
    *"Cannot connect to the Docker daemon"*) echo "ssh works, but the engine on that machine is not running" ;;
    *"HTTP response to HTTPS client"*) echo "it speaks plain HTTP, not TLS: unset DOCKER_TLS_VERIFY and DOCKER_CERT_PATH" ;;
    *"malformed HTTP response"* | *"client sent an HTTP request to an HTTPS server"*) echo "it wants TLS: set DOCKER_TLS_VERIFY=1 and DOCKER_CERT_PATH" ;;
    *x509* | *"tls:"* | *certificate*) echo "TLS failed: $(printf '%s' "$out" | grep -oE '(x509|tls): [^"]*' | head -n 1)" ;;
    *)
      if [ "$code" = 124 ]; then echo "no answer within ${FB_REMOTE_TIMEOUT:-30}s"; else printf '%s\n' "$out" | grep -v '^[[:space:]]*$' | tail -n 1; fi
      ;;
  esac
}

# host:port that DOCKER_HOST connects to (ssh://[user@]host[:port], tcp://host:port); fails for others.
fb_engine_hostport() {
  local rest
  case "$DOCKER_HOST" in
    ssh://*)
      # ssh's own view, so Host aliases and ports from ssh_config count. An ssh
      # that goes through ProxyJump or ProxyCommand never connects there itself,
      # so neither does the connect check.
      rest="${DOCKER_HOST#ssh://}" rest="${rest%%/*}"
      local port="" user="${rest%@*}"
      [ "$user" = "$rest" ] && user="" || rest="${rest#*@}"
      case "$rest" in *:*) port="${rest##*:}" rest="${rest%:*}" ;; esac
      ssh -G ${port:+-p "$port"} ${user:+-l "$user"} "$rest" 2>/dev/null |
        awk '$1 == "hostname" { h = $2 } $1 == "port" { p = $2 } $1 == "proxyjump" || $1 == "proxycommand" { proxied = 1 }
          END { if (proxied || h == "" || p == "" || h ~ /:/) exit 1; print h ":" p }'
      ;;
    tcp://*)
      rest="${DOCKER_HOST#tcp://}" rest="${rest%%/*}"
      case "$rest" in
        \[* | "" | *:*:*) return 1 ;; # IPv6 literals: left to the docker CLI
        *:*) printf '%s\n' "$rest" ;;
        *) printf '%s:2375\n' "$rest" ;;
      esac
      ;;
    *) return 1 ;;
  esac
}

# fb_engine_connect HOST:PORT [ssh]: one TCP connection to HOST:PORT, its
# connect bounded by FB_CONNECT_TIMEOUT (default 3 s); with `ssh`, the server's
# first line, bounded by FB_GREET_TIMEOUT (default 5 s), must be an ssh
# greeting, which sshd sends at once. Succeeds silently; else prints the cause
# in a few words and fails. Connecting once (not once to connect and again to
# be greeted) makes the verdict one fact about one connection.
fb_engine_connect() {
  local hostport="$1" greet="${2:-}" fd pid line="" cause=""
  local host="${1%:*}" port="${1##*:}" connect_s="${FB_CONNECT_TIMEOUT:-3}" greet_s="${FB_GREET_TIMEOUT:-5}"
  # The connection lives in a subshell of builtins only, so killing it leaves
  # nothing behind; it says "connected", then what the server said first, and
  # this shell bounds each wait with read -t.
  exec {fd}< <(
    exec 2>&1 # bash's own connect error ("connect: Connection refused") is the first line
    exec 3<>"/dev/tcp/$host/$port" || exit 0
    echo connected
    [ "$greet" = ssh ] || exit 0
    said=""
    IFS= read -r -n 200 said <&3 || [ -n "$said" ] || {
      echo closed
      exit 0
    }
    printf 'said %s\n' "$said"
  )
  pid=$!
  local code=0
  IFS= read -r -t "$connect_s" -u "$fd" line || code=$?
  if [ "$code" -gt 128 ]; then
    cause="no answer from $hostport within ${connect_s}s"
  elif [ "$line" != connected ]; then
    case "$line" in
      *"Connection refused"*)
        if [ "$greet" = ssh ]; then cause="connection refused: nothing listens there"; else cause="connection refused: nothing listens at $hostport"; fi
        ;;
      *"No route to host"*) cause="no route to $hostport" ;;
      *"Network is unreachable"*) cause="no network reaches $hostport" ;;
      *"not known"* | *"name resolution"* | *"No address associated"*) cause="its host name ${host} does not resolve" ;;
      *) cause="cannot connect to $hostport${line:+: ${line##*: }}" ;;
    esac
  elif [ "$greet" = ssh ]; then
    code=0
    IFS= read -r -t "$greet_s" -u "$fd" line || code=$?
    line="${line%$'\r'}"
    if [ "$code" -gt 128 ]; then
      cause="$hostport accepts connections but no ssh server greeted within ${greet_s}s"
    elif [ "$line" = closed ] || [ "$code" -ne 0 ]; then
      cause="$hostport accepts connections, then closes them without an ssh greeting"
    elif [ "${line#said SSH-}" = "$line" ]; then
      line="${line#said }" line="${line//[^[:print:]]/}"
      cause="$hostport answers, but not as an ssh server: it said \"${line:0:40}\""
    fi
  fi
  kill "$pid" 2>/dev/null || true
  exec {fd}<&-
  wait "$pid" 2>/dev/null || true
  [ -z "$cause" ] && return 0
  printf '%s\n' "$cause"
  return 1
}

# Asks the remote engine once, bounded; on failure prints one line naming it and the cause.
# The connect check's verdict is final: after a failed one docker is not asked,
# so the cause is always the same line, never whichever error docker's ssh
# pipe happened to report first.
fb_check_remote_engine() {
  local out code=0
  case "$DOCKER_HOST" in
    ssh://*)
      # The provider tries TLS first when DOCKER_CERT_PATH is set, and never ssh.
      if [ -n "${DOCKER_CERT_PATH:-}" ]; then
        fb_log "ERROR: DOCKER_HOST is $DOCKER_HOST but DOCKER_CERT_PATH is set, so the docker provider would use TLS and not ssh; unset DOCKER_CERT_PATH"
        return 1
      fi
      command -v ssh >/dev/null 2>&1 || {
        fb_log "ERROR: DOCKER_HOST is $DOCKER_HOST but there is no ssh client here (apt-get install openssh-client)"
        return 1
      }
      ;;
  esac
  # A machine that drops packets fails here in 3 s, a refused port at once, and
  # something that accepts any connection (a proxy on the way) but is no sshd
  # in 5 s at most. One that is reached may be slow to answer (an emulated VM's
  # first ssh session took 5.6 s), so the engine then gets FB_REMOTE_TIMEOUT.
  local hostport why greet=""
  if hostport="$(fb_engine_hostport)"; then
    [ "${DOCKER_HOST%%://*}" = ssh ] && greet=ssh
    if ! why="$(fb_engine_connect "$hostport" "$greet")"; then
      fb_log "ERROR: the Docker engine at $DOCKER_HOST does not answer: $why"
      return 1
    fi
  fi
  out="$(timeout "${FB_REMOTE_TIMEOUT:-30}" docker version --format '{{.Server.Version}}' 2>&1)" || code=$?
  if [ "$code" -eq 0 ]; then
    FB_REMOTE_VERSION="$out"
    return 0
  fi
  fb_log "ERROR: the Docker engine at $DOCKER_HOST does not answer: $(fb_engine_cause "$out" "$code")"
  return 1
}

# setup's ready check: a remote engine that does not answer ends setup at once.
fb_engine_ready() {
  if fb_engine_remote; then
    fb_check_remote_engine || exit 1
  else
    timeout 10 docker info >/dev/null 2>&1
  fi
}

fb_ensure_docker() {
  local log="$FB_LOG_DIR/dockerd.log" timeout="${FB_DOCKERD_TIMEOUT:-60}"

  if fb_engine_remote; then
    fb_check_remote_engine || return 1
    fb_log "Docker engine at $DOCKER_HOST answering (server $FB_REMOTE_VERSION); nothing installed or started here"
    return 0
  fi
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
        out="$("${apt[@]}" update 2>&1)"$'\n' || true # the install below says whether it mattered
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
