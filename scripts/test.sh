#!/usr/bin/env bash
# Every suite: unit (plan and mocks), then end-to-end against the real Docker
# engine and the real Pulumi engine. Setup runs first, so a fresh clone works.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$here/.."
bash scripts/setup.sh
npx jest --selectProjects unit
# Serial: the e2e stacks share one engine and fixed ports.
npx jest --selectProjects e2e --runInBand
