#!/usr/bin/env bash
# Runs the project's own pulumi on the dev stack (or $FB_STACK), on the local
# backend: scripts/pulumi.sh up --yes. Extra arguments pass through. The stack's
# rules are the program's own (src/policy/), as for a plain `pulumi up`; the
# policy pack in policy/ applies the same ones with `--policy-pack policy`.
# Before `up` and `preview`, scripts/heal.ts heals what an interrupted run or a
# machine that forgot the stack left (stale lock, pending operations, labelled
# objects the state does not know; a refresh when the engine lacks what the
# state names). FB_HEAL=0 skips it. up and destroy save the state once, at the
# end of the run (PULUMI_SKIP_CHECKPOINTS; the heal step covers a run killed
# outright).
# The image build's own lines (one per BuildKit step, ~25) are kept out of the
# output; when the build fails they are all printed after Pulumi's error. A
# docker resource's error is said once per cause, in a few lines; the raw text
# stays in $FB_LOG_DIR/<up|preview>-<stack>.log.
# Where the machine's node is older than 22, Pulumi runs the program on the
# Node LTS setup fetched (lib/node.sh).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# Pulumi's program and the heal step resolve the engine themselves (so does a
# plain `pulumi`): env.sh need not start node for it.
FB_ENGINE_ENV=0
# shellcheck source=env.sh
source "$here/env.sh"
# shellcheck source=lib/node.sh
source "$here/lib/node.sh"
fb_use_program_node
cd "$FB_REPO_ROOT"
command -v pulumi >/dev/null || fb_die "no pulumi CLI yet; run: npm run setup"
subcommand="$1"
shift
stack="${FB_STACK:-dev}"
# Pulumi writes the whole state once at the end of an up or destroy, not after
# every step: at 64 containers those writes were a third of the CPU the tools
# used (bench/README.md). A run that ends any way Pulumi sees (done, failed,
# Ctrl-C) still saves it; one killed outright leaves what it made unrecorded,
# and the next up's heal step (below) removes those objects by their label.
case "$subcommand" in
  up | destroy) export PULUMI_SKIP_CHECKPOINTS="${PULUMI_SKIP_CHECKPOINTS:-true}" ;;
esac
case "$subcommand" in
  up | preview) ;;
  *) exec pulumi --non-interactive "$subcommand" --stack "$stack" "$@" ;;
esac
heal=()
if [ "${FB_HEAL:-1}" != 0 ]; then
  healed="$(node --require tsx/cjs "$here/heal.ts" "$subcommand" "$stack" "$@")" || exit 1
  [ -z "$healed" ] || mapfile -t heal <<<"$healed"
fi
build_log="$FB_LOG_DIR/build-$stack.log"
raw_log="$FB_LOG_DIR/$subcommand-$stack.log"
color=()
[ -t 1 ] && color=(--color always) # through the pipe below Pulumi would drop its colours
# exec: Pulumi keeps this script's pid, so a signal sent to it (Ctrl-C, a
# supervisor's SIGTERM) reaches Pulumi itself. The reader (scripts/heal-output.ts)
# keeps Pulumi's raw text in $raw_log and the image build's lines in $build_log,
# and says each provider error once.
exec pulumi --non-interactive "$subcommand" --stack "$stack" "${color[@]}" "${heal[@]}" "$@" > >(
  node --require tsx/cjs "$here/heal-output.ts" "$raw_log" "$build_log" "$stack"
) 2>&1
