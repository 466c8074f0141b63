#!/usr/bin/env bash
# Runs the project's own pulumi on the dev stack (or $FB_STACK), on the local
# backend: scripts/pulumi.sh up --yes. Extra arguments pass through. `up` and
# `preview` always run the mandatory policy pack in policy/.
# The image build's own lines (one per BuildKit step, ~25) are kept out of a
# successful run's output; a failed run prints them all after Pulumi's error.
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
build_log="$FB_LOG_DIR/build-$stack.log"
color=()
[ -t 1 ] && color=(--color always) # through the pipe below Pulumi would drop its colours
: >"$build_log"
# A build line: "<op> docker:index:Image <name> <status> (<n>s) <message>".
set +e
pulumi --non-interactive "$subcommand" --stack "$stack" "${color[@]}" "${policy[@]}" "$@" 2>&1 |
  awk -v out="$build_log" '
    { plain = $0; gsub(/\033\[[0-9;]*m/, "", plain) }
    plain ~ /docker:index:Image [^ ]+ [a-z ]+ \([0-9.]+s\) ./ && plain !~ /Starting Docker build|Image built successfully/ {
      print plain >> out; fflush(out); next
    }
    { print; fflush() }'
rc=${PIPESTATUS[0]}
set -e
if [ "$rc" -ne 0 ] && [ -s "$build_log" ]; then
  printf '\nThe image build said (%s lines, also in %s):\n' "$(wc -l <"$build_log")" "$build_log"
  sed -E 's/^.*docker:index:Image [^ ]+ [a-z ]+ \([0-9.]+s\) (\[diff: [^]]*\];? ?)?//' "$build_log"
fi
exit "$rc"
