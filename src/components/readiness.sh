#!/bin/bash
# up's readiness gate: every app answers. One process for all containers, not
# one per container: at 64 containers the 63 extra resources cost ~5 s of up
# and ~3 s of destroy on 2 cores (bench/).
#   PROBE_TARGETS          one line per container: "<docker name> <url>", or
#                          "<docker name> -" for one with no way in (none mode)
#   PROBE_TIMEOUT_SECONDS  how long the slowest may take
# Prints "<docker name><TAB><what it saw>" per container: the page body, or the
# interfaces of a none container. Fails with one line per container that did
# not answer, naming it, its URL and the wait: the error a person reads.

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
    [ "$SECONDS" -ge "$deadline" ] && return 1
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
    exit 1' 2>/dev/null
}

# Each probe is one background process writing to its own file, so the
# watchdog's kill ends it whole and nothing it leaves holds our stdout open.
out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT
pids=() names=() urls=()
while read -r name url; do
  [ -n "$name" ] || continue
  i="${#pids[@]}"
  if [ "$url" = "-" ]; then
    probe_inside "$name" >"$out/$i" &
  else
    probe_http "$url" >"$out/$i" &
  fi
  pids+=("$!") names+=("$name") urls+=("$url")
done <<<"$PROBE_TARGETS"
# A connect to a firewall that drops packets hangs past any deadline: the
# watchdog ends such a probe a little after it.
(
  read -r -t "$((PROBE_TIMEOUT_SECONDS + 2))" -u 9 _ 9<> <(:)
  kill "${pids[@]}"
) 2>/dev/null &
watchdog=$!
failed=()
for i in "${!pids[@]}"; do
  if wait "${pids[$i]}"; then
    seen="$(cat "$out/$i")"
    printf '%s\t%s\n' "${names[$i]}" "${seen//$'\n'/ }"
  elif [ "${urls[$i]}" = "-" ]; then
    failed+=("${names[$i]}: no answer inside the container (none mode)")
  else
    failed+=("${names[$i]}: no answer from ${urls[$i]}")
  fi
done
kill "$watchdog" 2>/dev/null
[ "${#failed[@]}" -eq 0 ] && exit 0
printf '%s of %s containers did not answer within %s s:\n' "${#failed[@]}" "${#pids[@]}" "$PROBE_TIMEOUT_SECONDS" >&2
printf '  %s\n' "${failed[@]}" >&2
exit 1
