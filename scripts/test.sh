#!/usr/bin/env bash
# Every suite: unit (plan and mocks), then end-to-end against the real Docker
# engine and the real Pulumi engine. Setup runs first, so a fresh clone works.
#   scripts/test.sh          all suites
#   scripts/test.sh e2e      only the end-to-end suites (VMs included, and the Node LTS runs)
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$here/.."
bash scripts/setup.sh
if [ "${1:-all}" != "e2e" ]; then
  npm run --silent build
  npm run --silent lint
  npx jest --selectProjects unit
fi
# shellcheck source=env.sh
source scripts/env.sh
# Serial: the e2e stacks share one engine and fixed ports.
npx jest --selectProjects e2e --runInBand
# Swarm's defaults (VIP, routing mesh) on 3 QEMU VMs with kernels of their own:
# about 15 min, the VM base disk built first when its recipe changed (4-6 min).
npx jest --selectProjects vm --runInBand
# The same program on the other supported Node LTS releases.
bash scripts/test-node.sh
