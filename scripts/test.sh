#!/usr/bin/env bash
# Every suite: unit (plan and mocks), then end-to-end against the real Docker
# engine and the real Pulumi engine. Setup runs first, so a fresh clone works.
#   scripts/test.sh          all suites
#   scripts/test.sh e2e      only the end-to-end suites (and the Node LTS runs)
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
# The same program on the other supported Node LTS releases.
bash scripts/test-node.sh
