#!/bin/bash
# up's readiness gate: every app answers. One process for all containers, not
# one per container: at 64 containers the 63 extra resources cost ~5 s of up
# and ~3 s of destroy on 2 cores (bench/).
#   PROBE_TARGETS          one line per container: "<docker name> <url>", or
#                          "<docker name> -" for one with no way in (none mode)
#   PROBE_TIMEOUT_SECONDS  how long the slowest may take
# Prints "<docker name><TAB><what it saw>" per container: the page body, or the
# interfaces of a none container. Fails naming each one that did not answer.

# A write to a connection docker-proxy closed fails instead of killing bash.
trap '' PIPE
deadline=$((SECONDS + PROBE_TIMEOUT_SECONDS))

# Plain bash over /dev/tcp, no curl or node. docker-proxy accepts, then closes
# or resets, while the app behind it is not listening yet: that reads as no
# status line, and it asks again 100 ms later.
probe_http() {
  local url="${1#http://}" hostport path host port status line body
  hostport="${url%%/*}"
  path="/${url#*/}"
  [ "$path" = "/$url" ] && path=/
  host="${hostport%:*}"
  port="${hostport##*:}"
  # A pipe nobody writes to: `read -t` on it sleeps without starting `sleep`.
  exec 9<> <(:)
  while :; do
    if exec 3<>"/dev/tcp/$host/$port"; then
      printf 'GET %s HTTP/1.0\r\nHost: %s\r\n\r\n' "$path" "$hostport" >&3
      status=""
      IFS= read -r -t 2 status <&3
      if [[ "$status" == HTTP/1.?" 200 "* ]]; then
        while IFS= read -r -t 2 line <&3 && [ "${line%$'\r'}" != "" ]; do :; done
        IFS= read -r -d '' -t 2 body <&3
        exec 3<&-
        printf '%s' "$body"
        return 0
      fi
      exec 3<&-
    fi 2>/dev/null
    if [ "$SECONDS" -ge "$deadline" ]; then
      echo "no answer from $1" >&2
      return 1
    fi
    read -r -t 0.1 -u 9 || true
  done
}

# A none container cannot be reached: ask inside it, then list its interfaces
# (slim images have no ip tool; /sys has them).
probe_inside() {
  # shellcheck disable=SC2016 # expanded inside the container
  docker exec -e "TRIES=$(((deadline - SECONDS) * 10))" "$1" bash -c '
    for _ in $(seq "$TRIES"); do
      if bash /app/healthcheck.sh 2>/dev/null; then echo $(ls /sys/class/net); exit 0; fi
      sleep 0.1
    done
    echo "no answer inside $HOSTNAME" >&2; exit 1'
}

pids=()
while read -r name url; do
  [ -n "$name" ] || continue
  if [ "$url" = "-" ]; then
    { seen="$(probe_inside "$name")" && printf '%s\t%s\n' "$name" "${seen//$'\n'/ }"; } &
  else
    { seen="$(probe_http "$url")" && printf '%s\t%s\n' "$name" "${seen//$'\n'/ }"; } &
  fi
  pids+=("$!")
done <<<"$PROBE_TARGETS"
failed=0
for pid in "${pids[@]}"; do
  wait "$pid" || failed=1
done
exit "$failed"
