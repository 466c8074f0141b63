#!/usr/bin/env bash
# Runs the project's own pulumi on the dev stack (or $FB_STACK), on the local
# backend: scripts/pulumi.sh up --yes. Extra arguments pass through. `up` and
# `preview` always run the mandatory policy pack in policy/.
# Before `up` and `preview`, scripts/heal.ts heals what an interrupted run or a
# machine that forgot the stack left (stale lock, pending operations, labelled
# objects the state does not know; a refresh when the engine lacks what the
# state names). FB_HEAL=0 skips it.
# The image build's own lines (one per BuildKit step, ~25) are kept out of the
# output; when the build fails they are all printed after Pulumi's error.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=env.sh
source "$here/env.sh"
cd "$FB_REPO_ROOT"
command -v pulumi >/dev/null || fb_die "no pulumi CLI yet; run: npm run setup"
subcommand="$1"
shift
stack="${FB_STACK:-dev}"
policy=()
case "$subcommand" in
  up | preview) policy=(--policy-pack "$FB_REPO_ROOT/policy") ;;
  *) exec pulumi --non-interactive "$subcommand" --stack "$stack" "$@" ;;
esac
heal=()
if [ "${FB_HEAL:-1}" != 0 ]; then
  healed="$(node --import tsx "$here/heal.ts" "$subcommand" "$stack" "$@")" || exit 1
  [ -z "$healed" ] || mapfile -t heal <<<"$healed"
fi
build_log="$FB_LOG_DIR/build-$stack.log"
color=()
[ -t 1 ] && color=(--color always) # through the pipe below Pulumi would drop its colours
: >"$build_log"
# exec: Pulumi keeps this script's pid, so a signal sent to it (Ctrl-C, a
# supervisor's SIGTERM) reaches Pulumi itself. A build line reads
# "<op> docker:index:Image <name> <status> (<n>s) <message>".
exec pulumi --non-interactive "$subcommand" --stack "$stack" "${color[@]}" "${policy[@]}" "${heal[@]}" "$@" > >(
  awk -v out="$build_log" '
    function strip(line) {
      sub(/^.*docker:index:Image [^ ]+ [a-z ]+ \([0-9.]+s\) (\[diff: [^]]*\];? ?)?/, "", line)
      return line
    }
    { plain = $0; gsub(/\033\[[0-9;]*m/, "", plain) }
    plain ~ /docker:index:Image [^ ]+ (\*\*)?[a-z ]+ failed/ { failed = 1 }
    plain ~ /docker:index:Image [^ ]+ [a-z ]+ \([0-9.]+s\) ./ && plain !~ /Starting Docker build|Image built successfully/ {
      print plain >> out; fflush(out); kept++; next
    }
    { print; fflush() }
    END {
      if (!failed || !kept) exit
      close(out)
      printf "\nThe image build said (%d lines, also in %s):\n", kept, out
      while ((getline line < out) > 0) print strip(line)
    }'
) 2>&1
